"""The case page: who sees it (404 otherwise), the evaluator masked (DESIGN.md §7), the
clocks with their states, the history timeline with form values (escaped), and the page
without the bpmn-js viewer installed."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from app.cases import views as case_views
from app.extensions import db
from app.services import calendar_years, case_notes, case_tasks
from app.services.case_deadlines import MET, NOT_APPLICABLE, OPEN, OVERDUE, PAUSED, PLANNED, clock_states
from app.services.engine_runtime import make_engine
from workflows.clock import ManualClock
from workflows.sweep import sweep

from .case_support import (CONTACTED, ID_NO, NAME, PHONE, District, anonymous, at, case_in_appeal,
                           open_task, real_name_case, signed_in, work)
from .test_cases import district  # noqa: F401  (fixture)


def test_who_may_see_a_case(app: Flask, session: Session, district: District, clock: ManualClock) -> None:
    case = real_name_case(session, district, clock)
    path = f"/cases/{case.case_no}"
    for user in (district.h1, district.lead, district.supervisor, district.auditor):
        page = signed_in(app, user.username).get(path)
        assert page.status_code == 200, user.username
        assert case.case_no in page.get_data(as_text=True)
        assert signed_in(app, user.username).get(path + "/diagram.json").status_code == 200
    # Another department's handler, and verifiers before any appeal: as if it did not exist.
    for user in (district.outsider, district.v1, district.v_own):
        client = signed_in(app, user.username)
        assert client.get(path).status_code == 404, user.username
        assert client.get(path + "/diagram.json").status_code == 404, user.username
    assert signed_in(app, district.h1.username).get("/cases/CP20990101999999").status_code == 404
    nobody = anonymous(app).get(path)
    assert nobody.status_code == 302 and nobody.headers["Location"].startswith("/login")


def test_verifiers_see_a_case_in_appeal_but_never_their_own_department(
        app: Flask, session: Session, district: District, clock: ManualClock) -> None:
    case = case_in_appeal(session, district, clock)
    assert signed_in(app, district.v1.username).get(f"/cases/{case.case_no}").status_code == 200
    assert signed_in(app, district.v_own.username).get(f"/cases/{case.case_no}").status_code == 404


def test_the_evaluator_is_masked_and_the_rating_shown(app: Flask, session: Session, district: District,
                                                      clock: ManualClock) -> None:
    case = real_name_case(session, district, clock)
    for username in (district.h1.username, district.supervisor.username):
        page = signed_in(app, username).get(f"/cases/{case.case_no}").get_data(as_text=True)
        assert "张*丰" in page and "138****5678" in page and "3601**********1234" in page
        assert NAME not in page and PHONE not in page and ID_NO not in page
        assert "不满意" in page and "等候时间太长" in page and "窗口评价器" in page
        assert "新建区医疗保障局" in page and "测试事项" in page and "当前阶段：当场解决" in page


def test_timeline_shows_form_values_with_their_labels_escaped(app: Flask, session: Session, district: District,
                                                               clock: ManualClock) -> None:
    case = real_name_case(session, district, clock)
    work(session, case, "triage", district.h1, solved_on_spot=False)
    work(session, case, "contact_citizen", district.h1,
         **{**CONTACTED, "citizen_request": "<script>alert('x')</script>希望减少跑动"})
    case_notes.add_comment(session, case, district.h2, "<b>已电话核实</b>")
    session.commit()
    page = signed_in(app, district.lead.username).get(f"/cases/{case.case_no}").get_data(as_text=True)
    for text in ("工单创建", "生成任务", "办理任务", "联系群众", "是否联系上群众", "联系方式", "电话",
                 "群众诉求", "是否存在实际问题", "用户yb.h1", "2026-10-08 09:30"):
        assert text in page, text
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;希望减少跑动" in page
    assert "<b>已电话核实</b>" not in page and "&lt;b&gt;已电话核实&lt;/b&gt;" in page
    assert page.index("工单创建") < page.index("群众诉求")  # oldest first
    assert "用户yb.h2" in page  # the comment's author


def test_open_tasks_with_their_holder_and_a_link_to_the_task(app: Flask, session: Session, district: District,
                                                             clock: ManualClock) -> None:
    case = real_name_case(session, district, clock)
    client = signed_in(app, district.h1.username)
    page = client.get(f"/cases/{case.case_no}").get_data(as_text=True)
    assert "初步处置" in page and "待认领" in page
    task = open_task(session, case)
    case_tasks.claim(session, task.id, district.h2)
    session.commit()
    page = client.get(f"/cases/{case.case_no}").get_data(as_text=True)
    assert "用户yb.h2" in page and f'href="/tasks/{task.id}"' in page


def test_clock_states_through_a_case(session: Session, district: District, clock: ManualClock) -> None:
    case = real_name_case(session, district, clock)
    states = {s.clock: s for s in clock_states(session, case, clock.now())}
    # 2026-09-30: the contact clock's dates, 3 working days: 10-08, 10-09, 10-10 (make-up day).
    assert states["triage"].state == OPEN and states["triage"].days == 3 and states["triage"].text == "剩余 3 个工作日"
    assert states["contact"].state == PLANNED and states["contact"].text == "未开始，剩余 3 个工作日"
    assert states["rectify"].state == PLANNED and states["close"].state == NOT_APPLICABLE
    work(session, case, "triage", district.h1, solved_on_spot=False)
    states = {s.clock: s for s in clock_states(session, case, clock.now())}
    assert states["triage"].state == MET and states["contact"].state == OPEN
    clock.set(at("2026-10-11T09:00:00"))  # Sunday after the contact deadline (10-10, a make-up working day)
    sweep(db.sessionmaker, make_engine)
    session.expire_all()
    states = {s.clock: s for s in clock_states(session, case, clock.now())}
    assert states["contact"].state == OVERDUE and states["contact"].text == "已超期 1 个工作日"
    clock.set(at("2026-10-13T09:00:00"))  # Tuesday
    states = {s.clock: s for s in clock_states(session, case, clock.now())}
    assert states["contact"].text == "已超期 2 个工作日"
    work(session, case, "contact_citizen", district.h1, **CONTACTED)
    states = {s.clock: s for s in clock_states(session, case, clock.now())}
    assert states["contact"].state == OVERDUE and states["contact"].text == "已超期（超期后办结）"
    # Rectification counts from receipt too: 5 working days end on 10-13.
    assert states["rectify"].state == OPEN and states["rectify"].text == "今日到期"


def test_the_rectification_clock_pauses_during_an_appeal(session: Session, district: District,
                                                         clock: ManualClock) -> None:
    case = case_in_appeal(session, district, clock)
    states = {s.clock: s for s in clock_states(session, case, clock.now())}
    assert states["rectify"].state == PAUSED and states["rectify"].text == "申诉期间暂停计时"
    assert states["contact"].state == NOT_APPLICABLE  # anonymous: no contact


def test_provisional_deadlines_are_marked(app: Flask, session: Session, district: District,
                                          clock: ManualClock) -> None:
    clock.set(at("2026-12-30T10:00:00"))
    case = real_name_case(session, district, clock)
    states = {s.clock: s for s in clock_states(session, case, clock.now())}
    assert states["triage"].provisional and states["contact"].provisional
    page = signed_in(app, district.h1.username).get(f"/cases/{case.case_no}").get_data(as_text=True)
    assert "期限暂定" in page and "暂定" in page
    calendar_years.reset_calendar()


@pytest.mark.parametrize("installed", [True, False])
def test_the_page_works_with_or_without_the_diagram_viewer(app: Flask, session: Session, district: District,
                                                           clock: ManualClock, monkeypatch: pytest.MonkeyPatch,
                                                           installed: bool) -> None:
    monkeypatch.setattr(case_views, "viewer_installed", lambda: installed)
    case = real_name_case(session, district, clock)
    response = signed_in(app, district.h1.username).get(f"/cases/{case.case_no}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "办理记录" in page
    assert ("bpmn-viewer.production.min.js" in page) is installed
    assert ('id="case-diagram"' in page) is installed
    assert ("流程图查看器未安装" in page) is not installed
    assert "js/case_diagram.js" in page  # the print button, with or without the viewer


def test_the_print_stylesheet_hides_navigation_and_buttons(app: Flask) -> None:
    css = app.test_client().get("/static/css/case.css").get_data(as_text=True)
    rules = css[css.index("@media print"):]
    assert ".topbar" in rules and "button" in rules and "form" in rules and "display: none" in rules
