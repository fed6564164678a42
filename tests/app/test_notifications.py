"""In-app notifications: who is told of a new task, a warning, an escalation; the list,
unread first; marking read (one — only one's own — or all); pending delivery when an
external channel is configured."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Notification, Role, User
from app.models.notification import NOT_SENT, PENDING
from app.services import case_tasks, notifications
from app.services.engine_runtime import make_engine
from workflows.clock import ManualClock
from workflows.sweep import sweep

from . import factories
from .case_support import (NAME, PHONE, District, anonymous, at, case_in_appeal, notes_of, open_task,
                           real_name_case, signed_in, work)
from .conftest import csrf_token
from .test_cases import district  # noqa: F401  (fixture)


def kinds(session: Session, user: User) -> list[str]:
    return [n.kind for n in notes_of(session, user)]


def notifications_of_kind(session: Session, kind: str) -> list[Notification]:
    session.expire_all()
    return list(session.scalars(select(Notification).where(Notification.kind == kind)))


def test_a_new_task_is_offered_to_those_who_may_take_it(session: Session, district: District,
                                                        clock: ManualClock) -> None:
    inactive = factories.user(session, "yb.gone", [Role.HANDLER], district.dept)
    inactive.active = False
    case = real_name_case(session, district, clock)
    task = open_task(session, case)
    for handler in (district.h1, district.h2):
        [note] = notes_of(session, handler)
        assert (note.kind, note.case_id, note.task_id) == ("task_offered", case.id, task.id)
        assert note.title == f"新任务：初步处置（{case.case_no}）"
        assert note.body.startswith(f"工单 {case.case_no} · 新建区医疗保障局 · 测试事项；办理期限 2026-10-10 23:59")
        assert NAME not in note.title + note.body and PHONE not in note.body
        assert note.delivery == NOT_SENT and note.read_at is None
    for user in (district.lead, district.outsider, district.v1, district.supervisor, inactive):
        assert notes_of(session, user) == [], user.username
    # The next task goes to the department's handlers again; the filing to its lead.
    work(session, case, "triage", district.h1, solved_on_spot=True, on_spot_measures="当场补办")
    assert kinds(session, district.h2) == ["task_offered", "task_offered"]
    assert notes_of(session, district.h2)[-1].title.startswith("新任务：回访")
    work(session, case, "return_visit", district.h2, visited=True, visit_method="phone", citizen_satisfied=True)
    assert [n.title for n in notes_of(session, district.lead)] == [f"新任务：备案（{case.case_no}）"]


def test_verifier_tasks_go_to_eligible_verifiers_only(session: Session, district: District,
                                                      clock: ManualClock) -> None:
    case = case_in_appeal(session, district, clock)
    for verifier in (district.v1, district.v2):
        assert [n.title for n in notes_of(session, verifier)] == [f"新任务：申诉审核（{case.case_no}）"]
    assert notes_of(session, district.v_own) == []  # R10: never the handling department's
    work(session, case, "decide_appeal", district.v1, appeal_decision="rejected", decision_reason="证据不足")
    work(session, case, "consider_recheck", district.h1, request_recheck=True, recheck_reason="补充监控录像")
    assert len(notes_of(session, district.v1)) == 1  # not the recheck of their own decision
    assert [n.title for n in notes_of(session, district.v2)][-1] == f"新任务：复核（{case.case_no}）"


def test_warnings_go_to_the_holder_or_the_handlers(session: Session, district: District,
                                                   clock: ManualClock) -> None:
    claimed = real_name_case(session, district, clock)
    unclaimed = real_name_case(session, district, clock)
    case_tasks.claim(session, open_task(session, claimed).id, district.h2)
    session.commit()
    clock.set(at("2026-10-10T08:00:00"))  # the triage warnings fired at 10-09 23:59:59
    assert sweep(db.sessionmaker, make_engine).fired == 2
    warned = {(n.case_id, n.user_id) for n in notifications_of_kind(session, "warning")}
    assert warned == {(claimed.id, district.h2.id), (unclaimed.id, district.h1.id), (unclaimed.id, district.h2.id)}
    note = next(n for n in notes_of(session, district.h2) if n.kind == "warning" and n.case_id == claimed.id)
    assert note.title == f"时限预警：{claimed.case_no} 初步处置时限将于 2026-10-10 23:59 到期"
    assert note.body.endswith("待办：初步处置")
    assert kinds(session, district.lead) == [] and kinds(session, district.supervisor) == []


def test_an_escalation_goes_to_the_leads_and_supervisors(session: Session, district: District,
                                                         clock: ManualClock) -> None:
    second_supervisor = factories.user(session, "supervisor.two", [Role.SUPERVISOR])
    case = real_name_case(session, district, clock)
    clock.set(at("2026-10-11T08:00:00"))
    assert sweep(db.sessionmaker, make_engine).fired == 2  # the triage warning and deadline
    escalated = notifications_of_kind(session, "escalation")
    assert {n.user_id for n in escalated} == {district.lead.id, district.supervisor.id, second_supervisor.id}
    assert all(n.case_id == case.id and n.title == f"超期督办：{case.case_no} 初步处置时限已超期" for n in escalated)
    assert "期限 2026-10-10 23:59" in escalated[0].body
    assert "escalation" not in kinds(session, district.h1) and kinds(session, district.outsider) == []


def test_pending_delivery_when_a_channel_is_configured(app: Flask, session: Session, district: District,
                                                       clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "NOTIFY_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    real_name_case(session, district, clock)
    [note] = notes_of(session, district.h1)
    assert note.delivery == PENDING and note.next_attempt_at == clock.now() and note.attempts == 0


def test_the_list_unread_first_and_marking_read(app: Flask, session: Session, district: District,
                                                clock: ManualClock) -> None:
    first = real_name_case(session, district, clock)
    second = real_name_case(session, district, clock)
    older, newer = notes_of(session, district.h1)
    assert notifications.unread_count(session, district.h1) == 2
    client = signed_in(app, district.h1.username)
    page = client.get("/notifications").get_data(as_text=True)
    assert "未读 <span id=\"unread-count\">2</span> 条" in page
    assert '<span class="badge" title="未读消息">2</span>' in page  # the navigation's badge
    assert page.index(second.case_no) < page.index(first.case_no)  # newest first
    assert f'href="/cases/{first.case_no}"' in page and f'href="/tasks/{older.task_id}"' in page
    # Marking one read: CSRF required; then it goes below the unread one.
    assert client.post(f"/notifications/{newer.id}/read").status_code == 400
    token = csrf_token(client, "/notifications")
    assert client.post(f"/notifications/{newer.id}/read", data={"csrf_token": token}).status_code == 302
    assert notifications.unread_count(session, district.h1) == 1
    listed, total = notifications.list_for(session, district.h1)
    assert [n.id for n in listed] == [older.id, newer.id] and total == 2
    # Somebody else's notification is not there for them (404), and stays unread.
    theirs = notes_of(session, district.h2)[0]
    assert client.post(f"/notifications/{theirs.id}/read", data={"csrf_token": token}).status_code == 404
    assert client.post("/notifications/999999/read", data={"csrf_token": token}).status_code == 404
    assert notifications.unread_count(session, district.h2) == 2
    with pytest.raises(LookupError):
        notifications.mark_read(session, district.h1, theirs.id)
    # All at once.
    assert client.post("/notifications/read-all").status_code == 400
    response = client.post("/notifications/read-all", data={"csrf_token": token})
    assert response.status_code == 302
    assert "已将 1 条消息标为已读" in client.get("/notifications").get_data(as_text=True)
    assert notifications.unread_count(session, district.h1) == 0
    assert 'title="未读消息"' not in client.get("/notifications").get_data(as_text=True)
    assert notifications.unread_count(session, district.h2) == 2


def test_notifications_need_sign_in_and_show_only_ones_own(app: Flask, session: Session, district: District,
                                                          clock: ManualClock) -> None:
    case = real_name_case(session, district, clock)
    assert anonymous(app).get("/notifications").status_code == 302
    page = signed_in(app, district.outsider.username).get("/notifications").get_data(as_text=True)
    assert case.case_no not in page and "暂无消息" in page
    assert signed_in(app, district.h1.username).get("/notifications?page=abc").status_code == 400
