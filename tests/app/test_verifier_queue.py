"""The verifier queue (R10): appeals and rechecks waiting for a decision — never a case of
the verifier's own department, never a recheck to the verifier who decided the appeal;
claiming from the queue; the decision forms require reasons."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import CaseEvent
from app.services import case_tasks
from app.services.case_tasks import FormInvalid
from app.services.verifier_queue import QueueError, claim_decision, queue
from workflows.clock import ManualClock

from .case_support import District, at, case_in_appeal, open_task, signed_in, work
from .conftest import csrf_token
from .test_cases import district  # noqa: F401  (fixture)


def to_recheck(session: Session, district: District, clock: ManualClock):
    case = case_in_appeal(session, district, clock)
    work(session, case, "decide_appeal", district.v1, appeal_decision="rejected", decision_reason="证据不足")
    work(session, case, "consider_recheck", district.h1, request_recheck=True, recheck_reason="补充监控录像")
    return case


def test_an_appeal_is_offered_to_verifiers_of_other_departments_only(
        session: Session, district: District, clock: ManualClock) -> None:
    case = case_in_appeal(session, district, clock)
    clock.set(at("2026-10-09T10:00:00"))  # 10-08 and 10-09 are working days after the holiday
    [entry] = queue(session, district.v1)
    assert entry.case.id == case.id and entry.kind == "申诉审核" and entry.task.bpmn_id == "decide_appeal"
    assert entry.appeal_reason == "恶意差评" and entry.appeal_explanation == "评价人与办件无关，系恶意差评"
    assert entry.filed_at == at("2026-09-30T10:00:00") and entry.days_waiting == 2
    assert entry.case.department.name == "新建区医疗保障局"
    assert [e.case.id for e in queue(session, district.v2)] == [case.id]
    assert queue(session, district.v_own) == []  # the handling department's own verifier
    assert queue(session, district.h1) == [] and queue(session, district.supervisor) == []


def test_a_recheck_is_never_offered_to_the_verifier_who_decided_the_appeal(
        session: Session, district: District, clock: ManualClock) -> None:
    case = to_recheck(session, district, clock)
    assert queue(session, district.v1) == []
    [entry] = queue(session, district.v2)
    assert entry.kind == "复核" and entry.task.bpmn_id == "decide_recheck" and entry.case.id == case.id
    assert entry.appeal_reason == "恶意差评"
    # The queue follows case_tasks.refusal: every entry may be claimed, nothing else may.
    task = open_task(session, case)
    assert case_tasks.refusal(session, district.v1, task, case) == "复核须由另一名审核员办理"
    assert case_tasks.refusal(session, district.v2, task, case) is None


def test_a_task_claimed_by_another_verifier_leaves_the_queue(session: Session, district: District,
                                                             clock: ManualClock) -> None:
    case = case_in_appeal(session, district, clock)
    claim_decision(session, district.v1, open_task(session, case).id)
    session.commit()
    assert [e.claimed_by_me for e in queue(session, district.v1)] == [True]
    assert queue(session, district.v2) == []


def test_claim_from_the_queue_page(app: Flask, session: Session, district: District, clock: ManualClock) -> None:
    case = to_recheck(session, district, clock)
    task = open_task(session, case)
    client = signed_in(app, district.v2.username)
    page = client.get("/verify")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and case.case_no in text and "复核" in text and "恶意差评" in text
    assert "新建区医疗保障局" in text and "个工作日" in text
    assert client.post(f"/verify/{task.id}/claim").status_code == 400  # no CSRF token
    assert open_task(session, case).claimed_by is None
    token = csrf_token(client, "/verify")
    response = client.post(f"/verify/{task.id}/claim", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == f"/tasks/{task.id}"
    session.expire_all()
    assert open_task(session, case).claimed_by == district.v2.id
    claimed = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                      CaseEvent.event == "task_claimed")).all()
    assert [e.actor for e in claimed] == ["verifier.two"]
    assert "填写审核意见" in client.get("/verify").get_data(as_text=True)


def test_the_queue_refuses_what_it_does_not_offer(app: Flask, session: Session, district: District,
                                                  clock: ManualClock) -> None:
    case = to_recheck(session, district, clock)
    task = open_task(session, case)
    decider = signed_in(app, district.v1.username)
    response = decider.post(f"/verify/{task.id}/claim", data={"csrf_token": csrf_token(decider, "/verify")})
    assert response.status_code == 302 and response.headers["Location"] == "/verify"
    assert "复核须由另一名审核员办理" in decider.get("/verify").get_data(as_text=True)
    own = signed_in(app, district.v_own.username)
    response = own.post(f"/verify/{task.id}/claim", data={"csrf_token": csrf_token(own, "/verify")})
    assert response.status_code == 404  # the own department's case: not a peek
    assert own.post("/verify/999999/claim", data={"csrf_token": csrf_token(own, "/verify")}).status_code == 404
    session.expire_all()
    assert open_task(session, case).claimed_by is None
    with pytest.raises(QueueError):
        claim_decision(session, district.v_own, task.id)
    handler = signed_in(app, district.h1.username)
    assert handler.get("/verify").status_code == 403


def test_decision_forms_require_reasons(session: Session, district: District, clock: ManualClock) -> None:
    case = case_in_appeal(session, district, clock)
    with pytest.raises(FormInvalid) as missing:
        case_tasks.complete(session, open_task(session, case).id, {"appeal_decision": "rejected"}, district.v1)
    assert missing.value.errors == {"decision_reason": "此项为必填项"}
    with pytest.raises(FormInvalid) as blank:
        case_tasks.complete(session, open_task(session, case).id,
                            {"appeal_decision": "upheld", "decision_reason": "   "}, district.v1)
    assert blank.value.errors == {"decision_reason": "此项为必填项"}
    session.rollback()
    case = to_recheck(session, district, clock)
    with pytest.raises(FormInvalid) as recheck:
        case_tasks.complete(session, open_task(session, case).id, {"recheck_decision": "confirmed"}, district.v2)
    assert recheck.value.errors == {"recheck_opinion": "此项为必填项"}
