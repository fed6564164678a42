"""Buttons of the inbox: claim, unclaim, reassign (with history), saved filters; the
navigation bar and its badge; who reaches the inbox at all."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import CaseEvent, SavedFilter
from app.work.navigation import nav_url
from workflows.clock import ManualClock

from .desk_fixtures import District, beijing, district, login, logout, page_token, text  # noqa: F401

pytestmark = pytest.mark.usefixtures("clock")


def history(session: Session, case_id: int) -> list[CaseEvent]:
    return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)))


def test_claim_and_unclaim_from_the_inbox(client: FlaskClient, session: Session, district: District,
                                          clock: ManualClock) -> None:
    case = district.case(clock)
    task = district.task(case)
    login(client, district.h1)
    token = page_token(client, "/inbox?tab=department")
    response = client.post(f"/tasks/{task.id}/claim", data={"csrf_token": token, "next": "/inbox?tab=department"})
    assert response.status_code == 302 and response.headers["Location"] == "/inbox?tab=department"
    session.refresh(task)
    assert task.claimed_by == district.h1.id
    claimed = history(session, case.id)[-1]
    assert (claimed.event, claimed.actor, claimed.data["task_id"]) == ("task_claimed", "yb.h1", task.id)
    assert "已认领：初步处置" in text(client.get("/inbox"))
    response = client.post(f"/tasks/{task.id}/unclaim", data={"csrf_token": token}, follow_redirects=True)
    session.refresh(task)
    assert task.claimed_by is None and "已退回：初步处置" in text(response)
    assert history(session, case.id)[-1].event == "task_unclaimed"


def test_buttons_need_the_csrf_token(client: FlaskClient, session: Session, district: District,
                                     clock: ManualClock) -> None:
    task = district.task(district.case(clock))
    login(client, district.h1)
    for action in ("claim", "unclaim", "reassign"):
        assert client.post(f"/tasks/{task.id}/{action}", data={"to": district.h2.id}).status_code == 400
    assert client.post("/inbox/filters", data={"name": "x"}).status_code == 400
    session.refresh(task)
    assert task.claimed_by is None


def test_another_departments_task_is_not_found(client: FlaskClient, session: Session, district: District,
                                               clock: ManualClock) -> None:
    task = district.task(district.case(clock))
    login(client, district.outsider)
    token = page_token(client)
    for action in ("claim", "unclaim"):
        assert client.post(f"/tasks/{task.id}/{action}", data={"csrf_token": token}).status_code == 404
    assert client.post("/tasks/999999/claim", data={"csrf_token": token}).status_code == 404
    session.refresh(task)
    assert task.claimed_by is None


def test_a_refused_claim_changes_nothing_and_says_why(client: FlaskClient, session: Session,
                                                      district: District, clock: ManualClock) -> None:
    case = district.case(clock)
    task = district.task(case)
    before = len(history(session, case.id))
    login(client, district.lead)  # sees the department's tasks, but triage needs a handler
    token = page_token(client, "/inbox?tab=team")
    response = client.post(f"/tasks/{task.id}/claim", data={"csrf_token": token}, follow_redirects=True)
    assert "操作未完成：需要部门经办人角色" in text(response)
    session.refresh(task)
    assert task.claimed_by is None and len(history(session, case.id)) == before


def test_the_lead_reassigns_to_a_colleague(client: FlaskClient, session: Session, district: District,
                                           clock: ManualClock) -> None:
    case = district.case(clock)
    task = district.task(case)
    login(client, district.h1)
    client.post(f"/tasks/{task.id}/claim", data={"csrf_token": page_token(client)})
    token = page_token(client)
    response = client.post(f"/tasks/{task.id}/reassign", data={"csrf_token": token, "to": district.h2.id},
                           follow_redirects=True)
    assert "只有本部门负责人可以转派任务" in text(response)
    logout(client)
    login(client, district.lead)
    page = text(client.get("/inbox?tab=team"))
    assert f'action="/tasks/{task.id}/reassign"' in page and "用户yb.h2" in page
    token = page_token(client, "/inbox?tab=team")
    response = client.post(f"/tasks/{task.id}/reassign", data={"csrf_token": token, "to": district.outsider.id},
                           follow_redirects=True)
    assert "不能转派给用户mz.h1：该任务属于其他部门" in text(response)
    client.post(f"/tasks/{task.id}/reassign", data={"csrf_token": token, "to": district.h2.id})
    session.refresh(task)
    assert task.claimed_by == district.h2.id
    moved = history(session, case.id)[-1]
    assert (moved.event, moved.actor, moved.data["from"], moved.data["to"]) == \
        ("task_reassigned", "yb.lead", district.h1.id, district.h2.id)
    response = client.post(f"/tasks/{task.id}/reassign", data={"csrf_token": token, "to": "nobody"},
                           follow_redirects=True)
    assert "请选择转派对象" in text(response)


def test_saved_filters_are_kept_shared_and_deleted_by_their_owner(
        client: FlaskClient, session: Session, district: District, clock: ManualClock) -> None:
    district.case(clock)
    login(client, district.h1)
    token = page_token(client)
    response = client.post("/inbox/filters?tab=department&stage=on_spot&overdue=1&page=3",
                           data={"csrf_token": token, "name": "逾期初步处置", "shared": "y"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/inbox?tab=department&stage=on_spot&overdue=1"
    saved = session.scalar(select(SavedFilter).where(SavedFilter.owner_id == district.h1.id))
    assert saved.query == {"tab": "department", "stage": "on_spot", "overdue": "1"}
    assert saved.shared_department_id == district.dept.id
    client.post("/inbox/filters?tab=mine", data={"csrf_token": token, "name": "我的"})
    assert "逾期初步处置" in text(client.get("/inbox")) and "我的" in text(client.get("/inbox"))
    response = client.post("/inbox/filters?tab=mine", data={"csrf_token": token, "name": " "}, follow_redirects=True)
    assert "筛选未保存：请填写筛选名称" in text(response)
    response = client.post("/inbox/filters?sort=evil", data={"csrf_token": token, "name": "坏的"},
                           follow_redirects=True)
    assert "筛选未保存" in text(response) and "排序" in text(response)

    logout(client)
    login(client, district.h2)
    page = text(client.get("/inbox"))
    assert "逾期初步处置" in page and "用户yb.h1共享" in page and ">我的<" not in page
    token = page_token(client)
    assert client.post(f"/inbox/filters/{saved.id}/delete", data={"csrf_token": token}).status_code == 404
    logout(client)
    login(client, district.outsider)
    assert "逾期初步处置" not in text(client.get("/inbox"))

    logout(client)
    login(client, district.h1)
    token = page_token(client)
    assert client.post(f"/inbox/filters/{saved.id}/delete", data={"csrf_token": token}).status_code == 302
    assert session.get(SavedFilter, saved.id) is None


def test_saving_a_filter_again_replaces_it(client: FlaskClient, session: Session, district: District) -> None:
    login(client, district.h1)
    token = page_token(client)
    client.post("/inbox/filters?tab=department", data={"csrf_token": token, "name": "常用"})
    response = client.post("/inbox/filters?tab=department&stage=contact", data={"csrf_token": token, "name": "常用"},
                           follow_redirects=True)
    assert "筛选「常用」已更新" in text(response)
    rows = session.scalars(select(SavedFilter).where(SavedFilter.owner_id == district.h1.id)).all()
    assert [r.query for r in rows] == [{"tab": "department", "stage": "contact"}]


def test_navigation_shows_the_inbox_with_its_badge(client: FlaskClient, session: Session, district: District,
                                                   clock: ManualClock) -> None:
    district.case(clock)
    clock.set(beijing("2026-10-10T09:00:00"))
    login(client, district.h1)
    page = text(client.get("/inbox"))
    assert '<nav class="mainnav"' in page
    assert '<a href="/inbox" class="active" aria-current="page">待办 <span class="badge"' in page
    assert 'title="逾期及今日到期的任务">1</span>' in page


def test_home_sends_workers_to_their_inbox(client: FlaskClient, district: District) -> None:
    login(client, district.v1)
    assert client.get("/").headers["Location"] == "/inbox"
    logout(client)
    login(client, district.auditor)
    response = client.get("/")
    assert response.status_code == 200 and '<a href="/inbox"' not in text(response)
    assert client.get("/inbox").status_code == 403


def test_inbox_needs_a_signed_in_user(client: FlaskClient) -> None:
    response = client.get("/inbox")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_nav_url_is_none_for_an_endpoint_not_registered(app: Flask) -> None:
    with app.test_request_context("/"):
        assert nav_url("nowhere.at_all") is None
        assert nav_url("work.inbox") == "/inbox"
        assert nav_url("work.task", task_id=5) == "/tasks/5"
