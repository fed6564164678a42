"""The task API with personal tokens: the inbox with the page's tabs and filters, claim /
unclaim / complete validated by the same form definitions, a case with its contact masked;
the same role and department checks as the web pages."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import CaseEvent, User
from app.services.user_tokens import create_token
from workflows.clock import ManualClock

from .desk_fixtures import PHONE, District, beijing, district  # noqa: F401

pytestmark = pytest.mark.usefixtures("clock")


def bearer(session: Session, user: User) -> dict[str, str]:
    _record, token = create_token(session, user, "测试")
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_a_token_is_required(client: FlaskClient, session: Session, district: District) -> None:
    for method, path in (("get", "/api/v1/tasks"), ("post", "/api/v1/tasks/1/claim"),
                         ("post", "/api/v1/tasks/1/complete"), ("get", "/api/v1/cases/CP1")):
        response = getattr(client, method)(path)
        assert response.status_code == 401 and response.get_json()["error"]["status"] == 401
    response = client.get("/api/v1/tasks", headers={"Authorization": "Bearer hcpu_not-a-real-token-at-all"})
    assert response.status_code == 401


def test_the_inbox_as_json(client: FlaskClient, session: Session, district: District, clock: ManualClock) -> None:
    case = district.case(clock)
    headers = bearer(session, district.h1)
    body = client.get("/api/v1/tasks?tab=department", headers=headers).get_json()
    assert (body["tab"], body["total"], body["page"], body["pages"]) == ("department", 1, 1, 1)
    assert body["tabs"] == ["mine", "department", "done"]
    task = body["tasks"][0]
    assert task["case_no"] == case.case_no and task["task"] == "triage" and task["name"] == "初步处置"
    assert (task["level"], task["level_code"], task["stage"], task["urgency"]) == ("不满意", 2, "on_spot", "ok")
    assert task["deadline"] == beijing("2026-10-10T23:59:59").isoformat()
    assert task["working_days_left"] == 3 and task["claimed_by"] is None and task["actions"]["claim"]
    assert client.get("/api/v1/tasks", headers=headers).get_json()["tasks"] == []
    other = client.get("/api/v1/tasks?tab=department", headers=bearer(session, district.outsider)).get_json()
    assert other["tasks"] == []


def test_bad_filters_name_the_field(client: FlaskClient, session: Session, district: District) -> None:
    headers = bearer(session, district.h1)
    response = client.get("/api/v1/tasks?sort=secret&page=0&tab=verify", headers=headers)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"sort", "page", "tab"} and errors["page"].startswith("页码：")


def test_a_user_without_a_working_role_is_refused(client: FlaskClient, session: Session,
                                                   district: District) -> None:
    response = client.get("/api/v1/tasks", headers=bearer(session, district.auditor))
    assert response.status_code == 403 and response.get_json()["error"]["detail"] == "该用户没有办理任务的角色"


def test_claim_unclaim_and_refusals(client: FlaskClient, session: Session, district: District,
                                    clock: ManualClock) -> None:
    task = district.task(district.case(clock))
    h1, h2 = bearer(session, district.h1), bearer(session, district.h2)
    response = client.post(f"/api/v1/tasks/{task.id}/claim", headers=h1)
    assert response.status_code == 200 and response.get_json()["claimed_by"] == district.h1.id
    response = client.post(f"/api/v1/tasks/{task.id}/claim", headers=h2)
    assert response.status_code == 409 and response.get_json()["error"]["detail"] == "该任务已被他人认领"
    assert client.post(f"/api/v1/tasks/{task.id}/unclaim", headers=h2).status_code == 409
    outsider = bearer(session, district.outsider)
    assert client.post(f"/api/v1/tasks/{task.id}/claim", headers=outsider).status_code == 404
    assert client.post("/api/v1/tasks/999999/claim", headers=h1).status_code == 404
    response = client.post(f"/api/v1/tasks/{task.id}/unclaim", headers=h1)
    assert response.status_code == 200 and response.get_json()["claimed_by"] is None
    session.refresh(task)
    assert task.claimed_by is None


def test_complete_is_validated_by_the_form_definition(client: FlaskClient, session: Session, district: District,
                                                      clock: ManualClock) -> None:
    case = district.case(clock)
    task = district.task(case)
    headers = bearer(session, district.h1)
    url = f"/api/v1/tasks/{task.id}/complete"
    response = client.post(url, json={"solved_on_spot": True}, headers=headers)
    assert response.status_code == 422 and response.get_json() == {"errors": {"on_spot_measures": "此项为必填项"}}
    assert client.post(url, data="solved_on_spot=1", headers=headers).status_code == 415
    assert client.post(url, json=[1, 2], headers=headers).status_code == 400
    session.refresh(task)
    assert task.status == "ready"
    response = client.post(url, json={"solved_on_spot": False}, headers=headers)
    body = response.get_json()
    assert response.status_code == 200 and body["case_no"] == case.case_no and body["stage"] == "contact"
    assert body["next_task"]["task"] == "contact_citizen"
    response = client.post(url, json={"solved_on_spot": False}, headers=bearer(session, district.h2))
    assert response.status_code == 409 and response.get_json()["error"]["detail"] == "该任务已由他人办理"
    completed = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                        CaseEvent.event == "task_completed")).all()
    assert [e.actor for e in completed] == ["yb.h1"]


def test_complete_by_a_wrong_role_changes_nothing(client: FlaskClient, session: Session, district: District,
                                                  clock: ManualClock) -> None:
    task = district.task(district.case(clock))
    response = client.post(f"/api/v1/tasks/{task.id}/complete", json={"solved_on_spot": False},
                           headers=bearer(session, district.lead))
    assert response.status_code == 409 and response.get_json()["error"]["detail"] == "需要部门经办人角色"
    session.refresh(task)
    assert task.status == "ready"


def test_a_case_as_json_with_the_contact_masked(client: FlaskClient, session: Session, district: District,
                                                clock: ManualClock) -> None:
    case = district.case(clock, comment="等了两个小时")
    headers = bearer(session, district.h1)
    body = client.get(f"/api/v1/cases/{case.case_no}", headers=headers).get_json()
    assert body["case_no"] == case.case_no and body["comment"] == "等了两个小时"
    assert body["stage"] == "on_spot" and body["stage_label"] == "当场解决" and body["status"] == "open"
    assert body["deadlines"]["contact"] == beijing("2026-10-10T23:59:59").isoformat()
    assert body["contact"] == {"real_name": True, "masked": True, "name": "张*丰", "phone": "138****5678",
                               "id_no": "3601**********1234"}
    assert [t["task"] for t in body["open_tasks"]] == ["triage"]
    district.work(case, "triage", district.h1, solved_on_spot=False)
    contact = district.task(case)
    client.post(f"/api/v1/tasks/{contact.id}/claim", headers=headers)
    body = client.get(f"/api/v1/cases/{case.case_no}", headers=headers).get_json()
    assert body["contact"]["masked"] is False and body["contact"]["phone"] == PHONE
    body = client.get(f"/api/v1/cases/{case.case_no}", headers=bearer(session, district.h2)).get_json()
    assert body["contact"]["masked"] is True and PHONE not in str(body)


@pytest.mark.parametrize("who", ["outsider", "v_own", "admin"])
def test_a_case_the_user_may_not_see_is_not_found(client: FlaskClient, session: Session, district: District,
                                                  clock: ManualClock, who: str) -> None:
    case = district.case(clock)
    headers = bearer(session, getattr(district, who))
    response = client.get(f"/api/v1/cases/{case.case_no}", headers=headers)
    assert response.status_code == 404 and response.get_json()["error"]["status"] == 404
    assert client.get("/api/v1/cases/CP000", headers=bearer(session, district.h1)).status_code == 404


def test_the_api_and_the_page_list_the_same_tasks(client: FlaskClient, session: Session, district: District,
                                                  clock: ManualClock) -> None:
    cases = [district.case(clock) for _ in range(3)]
    district.work(cases[0], "triage", district.h1, solved_on_spot=False)
    headers = bearer(session, district.h1)
    body = client.get("/api/v1/tasks?tab=department&task=contact_citizen&sort=case", headers=headers).get_json()
    assert [t["case_no"] for t in body["tasks"]] == [cases[0].case_no]
    done = client.get("/api/v1/tasks?tab=done", headers=headers).get_json()
    assert [(t["task"], t["status"]) for t in done["tasks"]] == [("triage", "completed")]
    assert done["tasks"][0]["completed_at"] is not None


def check_documented(response: object, path: str, method: str) -> None:
    """The status is documented for the operation and the body has the documented shape."""
    from jsonschema import Draft202012Validator

    from app.api.openapi import document

    from .test_openapi import resolve

    doc = document()
    responses = doc["paths"][path][method]["responses"]
    status = str(response.status_code)  # type: ignore[attr-defined]
    assert status in responses, f"{method.upper()} {path}: undocumented status {status}"
    schema = resolve(responses[status]["content"]["application/json"]["schema"], doc)
    Draft202012Validator(schema).validate(response.get_json())  # type: ignore[attr-defined]


def test_answers_match_the_openapi_description(client: FlaskClient, session: Session, district: District,
                                               clock: ManualClock) -> None:
    case = district.case(clock)
    task = district.task(case)
    h1, h2 = bearer(session, district.h1), bearer(session, district.h2)
    tasks, claim = "/api/v1/tasks", "/api/v1/tasks/{task_id}/claim"
    complete, one_case = "/api/v1/tasks/{task_id}/complete", "/api/v1/cases/{case_no}"
    for response, path, method in (
            (client.get("/api/v1/tasks?tab=department", headers=h1), tasks, "get"),
            (client.get("/api/v1/tasks?page=x", headers=h1), tasks, "get"),
            (client.get("/api/v1/tasks"), tasks, "get"),
            (client.get("/api/v1/tasks", headers=bearer(session, district.auditor)), tasks, "get"),
            (client.post(f"/api/v1/tasks/{task.id}/claim", headers=h1), claim, "post"),
            (client.post(f"/api/v1/tasks/{task.id}/claim", headers=h2), claim, "post"),
            (client.post("/api/v1/tasks/0/claim", headers=h1), claim, "post"),
            (client.post(f"/api/v1/tasks/{task.id}/unclaim", headers=h2),
             "/api/v1/tasks/{task_id}/unclaim", "post"),
            (client.get("/api/v1/tasks", headers=h1), tasks, "get"),
            (client.post(f"/api/v1/tasks/{task.id}/complete", json={"solved_on_spot": True}, headers=h1),
             complete, "post"),
            (client.post(f"/api/v1/tasks/{task.id}/complete", data="x", headers=h1), complete, "post"),
            (client.post(f"/api/v1/tasks/{task.id}/complete", json="x", headers=h1), complete, "post"),
            (client.post(f"/api/v1/tasks/{task.id}/complete", json={"solved_on_spot": False}, headers=h1),
             complete, "post"),
            (client.post(f"/api/v1/tasks/{task.id}/complete", json={"solved_on_spot": False}, headers=h1),
             complete, "post"),
            (client.get(f"/api/v1/cases/{case.case_no}", headers=h1), one_case, "get"),
            (client.get("/api/v1/cases/nope", headers=h1), one_case, "get"),
            (client.get("/api/v1/tasks?tab=done", headers=h1), tasks, "get")):
        check_documented(response, path, method)
