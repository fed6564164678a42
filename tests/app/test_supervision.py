"""The supervision board (R12): overdue and escalated cases across departments, the
warnings of today, open cases per department and stage; and 督办 — recorded in the case's
history and sent to the department's leads in one transaction, CSRF-protected,
supervisors only."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import CaseEvent, CaseStage, Notification, Role
from app.services.engine_runtime import make_engine
from app.services.supervision import board
from workflows.clock import ManualClock
from workflows.sweep import sweep

from . import factories
from .case_support import (District, anonymous, at, bad_rating, notes_of, open_case, real_name_case, signed_in,
                           work)
from .conftest import csrf_token
from .test_cases import district  # noqa: F401  (fixture)


def test_board_figures(app: Flask, session: Session, district: District, clock: ManualClock) -> None:
    late = real_name_case(session, district, clock)  # will miss its contact deadline
    work(session, late, "triage", district.h1, solved_on_spot=False)
    waiting = real_name_case(session, district, clock)  # stays at triage
    other_rating = factories.rating(session, district.other)
    other_rating.received_at = other_rating.evaluated_at = at("2026-10-09T10:00:00")
    clock.set(at("2026-10-09T10:00:00"))
    other = open_case(session, other_rating)  # another department, received 10-09
    session.commit()
    clock.set(at("2026-10-11T09:00:00"))
    sweep(db.sessionmaker, make_engine)
    session.expire_all()
    clock.set(at("2026-10-13T09:00:00"))  # two working days after the missed deadlines
    figures = board(session)
    assert {row.case.id for row in figures.overdue} == {late.id, waiting.id} and figures.overdue_total == 2
    row = next(r for r in figures.overdue if r.case.id == late.id)
    assert [(m.clock, m.due_at, m.days_over) for m in row.missed] == [("contact", at("2026-10-10T23:59:59"), 2)]
    assert row.last_urged_at is None
    assert [(m.clock, m.days_over) for m in next(r for r in figures.overdue if r.case.id == waiting.id).missed] \
        == [("triage", 2)]
    # The other department's case (10-09 + 3: 10-10, 10-12, 10-13) is warned tonight at 23:59:59 of 10-12…
    assert figures.warnings == []
    clock.set(at("2026-10-12T09:00:00"))
    [warning] = board(session).warnings
    assert (warning.case.id, warning.clock, warning.fired) == (other.id, "triage", False)
    clock.set(at("2026-10-13T00:05:00"))
    sweep(db.sessionmaker, make_engine)
    session.expire_all()
    [warning] = board(session).warnings  # … and fired today (after midnight)
    assert warning.case.id == other.id and warning.fired and warning.due_at == at("2026-10-12T23:59:59")
    counts = {dept.id: (stages, total) for dept, stages, total in board(session).counts}
    assert counts[district.dept.id] == ({CaseStage.CONTACT: 1, CaseStage.ON_SPOT: 1}, 2)
    assert counts[district.other.id] == ({CaseStage.ON_SPOT: 1}, 1)
    assert board(session).stage_totals[CaseStage.ON_SPOT] == 2

    page = signed_in(app, district.supervisor.username).get("/supervision")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "督办看板" in text
    assert f'href="/cases/{late.case_no}"' in text and f'href="/cases/{other.case_no}"' in text
    assert "联系群众时限：2026-10-10 23:59" in text and "新建区民政局" in text and "已发出预警" in text


def test_the_board_is_for_supervisors(app: Flask, session: Session, district: District) -> None:
    for user in (district.h1, district.lead, district.v1, district.auditor):
        assert signed_in(app, user.username).get("/supervision").status_code == 403, user.username
    assert anonymous(app).get("/supervision").status_code == 302
    client = signed_in(app, district.supervisor.username)
    assert client.get("/supervision?page=x").status_code == 400
    assert "页码（page）" in client.get("/supervision?page=0").get_data(as_text=True)


def test_urge_records_the_event_and_notifies_the_leads(app: Flask, session: Session, district: District,
                                                       clock: ManualClock) -> None:
    case = real_name_case(session, district, clock)
    second_lead = factories.user(session, "yb.lead2", [Role.LEAD], district.dept)
    other_lead = factories.user(session, "mz.lead", [Role.LEAD], district.other)
    session.commit()
    client = signed_in(app, district.supervisor.username)
    path = f"/supervision/cases/{case.case_no}/urge"
    assert "督办意见" in client.get(path).get_data(as_text=True)
    response = client.post(path, data={"csrf_token": csrf_token(client, path), "message": "请于今日内联系群众<b>"})
    assert response.status_code == 302 and response.headers["Location"] == f"/cases/{case.case_no}"
    session.expire_all()
    [event] = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                      CaseEvent.event == "case_urged")).all()
    assert event.actor == "supervisor.one" and event.data == {"message": "请于今日内联系群众<b>"}
    for lead in (district.lead, second_lead):
        [note] = [n for n in notes_of(session, lead) if n.kind == "urged"]
        assert note.case_id == case.id and note.title == f"督办：{case.case_no}"
        assert "用户supervisor.one：请于今日内联系群众<b>" in note.body
    assert notes_of(session, other_lead) == [] and [n.kind for n in notes_of(session, district.h1)] == ["task_offered"]
    page = client.get(f"/cases/{case.case_no}").get_data(as_text=True)
    assert "督办意见" in page and "请于今日内联系群众&lt;b&gt;" in page
    board_page = signed_in(app, district.supervisor.username).get("/supervision").get_data(as_text=True)
    assert case.case_no not in board_page  # not overdue: urged cases need not be


def test_urge_refusals_change_nothing(app: Flask, session: Session, district: District, clock: ManualClock) -> None:
    case = real_name_case(session, district, clock)
    path = f"/supervision/cases/{case.case_no}/urge"

    def urged() -> int:
        session.expire_all()
        return session.scalar(select(func.count()).select_from(CaseEvent).where(
            CaseEvent.case_id == case.id, CaseEvent.event == "case_urged")) + session.scalar(
            select(func.count()).select_from(Notification).where(Notification.kind == "urged"))

    client = signed_in(app, district.supervisor.username)
    assert client.post(path, data={"message": "没有令牌"}).status_code == 400  # no CSRF token
    blank = client.post(path, data={"csrf_token": csrf_token(client, path), "message": "   "})
    assert blank.status_code == 400 and "督办意见：此项为必填项" in blank.get_data(as_text=True)
    long = client.post(path, data={"csrf_token": csrf_token(client, path), "message": "催" * 501})
    assert long.status_code == 400 and "不能超过500个字符" in long.get_data(as_text=True)
    for user in (district.lead, district.h1, district.auditor):
        other = signed_in(app, user.username)
        assert other.get(path).status_code == 403
        assert other.post(path, data={"csrf_token": csrf_token(other, "/notifications"),
                                      "message": "越权督办"}).status_code == 403
    assert client.get("/supervision/cases/CP20990101999999/urge").status_code == 404
    assert urged() == 0


def test_a_closed_case_is_not_urged(app: Flask, session: Session, district: District, clock: ManualClock) -> None:
    case = open_case(session, bad_rating(session, district, clock, real_name=False))
    session.commit()
    work(session, case, "triage", district.h1, solved_on_spot=True, on_spot_measures="当场补办")
    work(session, case, "file_record", district.lead, filing_summary="当场解决，予以备案")
    client = signed_in(app, district.supervisor.username)
    path = f"/supervision/cases/{case.case_no}/urge"
    response = client.post(path, data={"csrf_token": csrf_token(client, path), "message": "继续督办"})
    assert response.status_code == 400 and "该工单已办结，无需督办" in response.get_data(as_text=True)
