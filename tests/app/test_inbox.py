"""The inbox service and page: tabs, rows (working days left on the calendar), sorting,
filtering, paging, bad filters, who is offered what (R10), one query for rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Case, Dimension, Level, User
from app.services import case_tasks
from app.services.engine_runtime import make_engine
from app.services.inbox import InboxPage, badge_count, list_tasks
from app.services.inbox_query import InboxQuery, InboxQueryError, parse_query
from workflows.clock import ManualClock
from workflows.sweep import sweep

from .desk_fixtures import District, beijing, district, login, text, to_supervisor  # noqa: F401

pytestmark = pytest.mark.usefixtures("clock")


def inbox(session: Session, user: User, **params: Any) -> InboxPage:
    return list_tasks(session, user, parse_query({k: str(v) for k, v in params.items()}, user))


def case_nos(page: InboxPage) -> list[str]:
    return [row.case_no for row in page.rows]


def test_tabs_offer_department_tasks_and_keep_claimed_ones(session: Session, district: District,
                                                           clock: ManualClock) -> None:
    case = district.case(clock)
    other = district.case(clock, dept=district.other)
    assert case_nos(inbox(session, district.h1, tab="department")) == [case.case_no]
    assert case_nos(inbox(session, district.outsider, tab="department")) == [other.case_no]
    assert inbox(session, district.h1).rows == []  # nothing claimed yet
    task = district.task(case)
    case_tasks.claim(session, task.id, district.h1)
    session.commit()
    mine = inbox(session, district.h1)
    assert case_nos(mine) == [case.case_no] and mine.rows[0].claimed_by_name == "用户yb.h1"
    assert inbox(session, district.h2, tab="department").rows == []  # claimed: no longer offered
    assert case_nos(inbox(session, district.lead, tab="team")) == [case.case_no]  # the lead sees all
    assert inbox(session, district.lead, tab="department").rows == []  # no lead task yet
    district.work(case, "triage", district.h1, solved_on_spot=False)
    done = inbox(session, district.h1, tab="done")
    assert [(r.case_no, r.bpmn_id, r.status) for r in done.rows] == [(case.case_no, "triage", "completed")]
    assert [r.bpmn_id for r in inbox(session, district.h2, tab="department").rows] == ["contact_citizen"]


def test_a_row_shows_item_level_dimensions_and_working_days_left(session: Session, district: District,
                                                                 clock: ManualClock) -> None:
    case = district.case(clock, dimensions=(Dimension.TRIPS, Dimension.EFFICIENCY))
    case.rating.level = Level.VERY_DISSATISFIED
    case.rating.service_item.name = "异地就医备案"
    session.commit()
    row = inbox(session, district.h1, tab="department").rows[0]
    assert (row.item, row.level, row.task_name, row.stage_label) == ("异地就医备案", Level.VERY_DISSATISFIED,
                                                                       "初步处置", "当场解决")
    assert row.dimensions == [Dimension.EFFICIENCY, Dimension.TRIPS]  # in the order of R2
    # 2026-09-30: day 0; 10-08, 10-09, 10-10 (the Saturday make-up day) are working days 1-3.
    assert row.deadline == beijing("2026-10-10T23:59:59")
    assert (row.days_left, row.urgency, row.provisional) == (3, "ok", False)
    clock.set(beijing("2026-10-09T09:00:00"))
    assert [(r.days_left, r.urgency) for r in inbox(session, district.h1, tab="department").rows] == [(1, "soon")]
    clock.set(beijing("2026-10-10T09:00:00"))
    assert [(r.days_left, r.urgency) for r in inbox(session, district.h1, tab="department").rows] == [(0, "soon")]
    clock.set(beijing("2026-10-12T09:00:00"))
    sweep(db.sessionmaker, make_engine)  # the deadline timer fires: the task keeps the case's date
    session.expire_all()
    row = inbox(session, district.h1, tab="department").rows[0]
    assert (row.deadline, row.days_left, row.urgency) == (beijing("2026-10-10T23:59:59"), -1, "overdue")


def test_the_page_colours_levels_and_deadlines(client: FlaskClient, session: Session, district: District,
                                               clock: ManualClock) -> None:
    district.case(clock, dimensions=(Dimension.FEES,))
    clock.set(beijing("2026-10-12T09:00:00"))
    login(client, district.h1)
    page = text(client.get("/inbox?tab=department"))
    assert 'class="urgency-overdue"' in page and "已逾期 1 个工作日" in page
    assert 'class="level level-dissatisfied"' in page and "服务收费" in page
    assert 'aria-sort="ascending">截止日期 ↑' in page


def test_provisional_deadlines_are_marked(client: FlaskClient, session: Session, district: District,
                                          clock: ManualClock) -> None:
    clock.set(beijing("2026-12-30T10:00:00"))  # the deadlines fall in 2027, which has no data
    district.case(clock)
    row = inbox(session, district.h1, tab="department").rows[0]
    assert row.provisional and row.deadline == beijing("2027-01-05T23:59:59")
    login(client, district.h1)
    assert "暂定" in text(client.get("/inbox?tab=department"))


def test_sort_filter_and_page(session: Session, district: District, clock: ManualClock) -> None:
    cases = []
    for name in ("丙事项", "甲事项", "乙事项"):
        case = district.case(clock)
        case.rating.service_item.name = name
        cases.append(case)
        clock.advance(timedelta(hours=1))
    session.commit()
    h1 = district.h1
    by_item = inbox(session, h1, tab="department", sort="item")
    assert [r.item for r in by_item.rows] == sorted(["丙事项", "甲事项", "乙事项"])
    assert [r.item for r in inbox(session, h1, tab="department", sort="item", dir="desc").rows] == \
        sorted(["丙事项", "甲事项", "乙事项"], reverse=True)
    assert case_nos(inbox(session, h1, tab="department", sort="case", dir="desc")) == \
        sorted((c.case_no for c in cases), reverse=True)
    only = inbox(session, h1, tab="department", item=cases[1].rating.service_item_id)
    assert case_nos(only) == [cases[1].case_no] and only.total == 1
    district.work(cases[0], "triage", h1, solved_on_spot=False)
    assert case_nos(inbox(session, h1, tab="department", task="contact_citizen")) == [cases[0].case_no]
    assert case_nos(inbox(session, h1, tab="department", stage="on_spot", sort="case")) == \
        sorted(c.case_no for c in cases[1:])
    assert inbox(session, h1, tab="department", overdue=1).total == 0
    assert inbox(session, h1, tab="department", date_field="deadline", date_from="2026-10-10",
                 date_to="2026-10-10").total == 3
    assert inbox(session, h1, tab="department", date_from="2026-10-01").total == 0  # created 09-30
    # A page past the end is empty, and says how many pages there are.
    second = inbox(session, h1, tab="department", page=2, per_page=10)
    assert second.rows == [] and second.total == 3 and second.pages == 1


def test_paging_is_done_by_the_database(session: Session, district: District, clock: ManualClock) -> None:
    cases = [district.case(clock) for _ in range(12)]
    first = inbox(session, district.h1, tab="department", sort="case", per_page=10)
    second = inbox(session, district.h1, tab="department", sort="case", per_page=10, page=2)
    assert (first.total, first.pages, len(first.rows), len(second.rows)) == (12, 2, 10, 2)
    assert case_nos(first) + case_nos(second) == sorted(c.case_no for c in cases)


def test_one_query_for_the_rows_and_one_for_the_count(session: Session, district: District,
                                                      clock: ManualClock) -> None:
    for _ in range(6):
        district.case(clock, dimensions=(Dimension.TRIPS, Dimension.FEES))
    statements: list[str] = []
    connection = session.connection()

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        page = inbox(session, district.h1, tab="department", sort="claimed")
    finally:
        event.remove(connection, "before_cursor_execute", count)
    assert len(page.rows) == 6 and all(r.dimensions == [Dimension.TRIPS, Dimension.FEES] for r in page.rows)
    queries = [s for s in statements if "calendar_year_version" not in s]  # the calendar's one check
    assert len(queries) == 2, queries


@pytest.mark.parametrize("params, field, words", [
    ({"page": "abc"}, "page", "页码"), ({"page": "0"}, "page", "页码"),
    ({"sort": "password"}, "sort", "排序"), ({"dir": "sideways"}, "dir", "排序方向"),
    ({"date_from": "2026-13-01"}, "date_from", "起始日期"), ({"date_to": "tomorrow"}, "date_to", "结束日期"),
    ({"date_from": "2026-10-09", "date_to": "2026-10-01"}, "date_to", "不能早于起始日期"),
    ({"overdue": "maybe"}, "overdue", "仅看逾期"), ({"per_page": "7"}, "per_page", "每页条数"),
    ({"item": "-1"}, "item", "服务事项"), ({"stage": "closed"}, "stage", "阶段"),
    ({"tab": "verify"}, "tab", "无权查看"), ({"tab": "everything"}, "tab", "分类"),
    ({"date_field": "birthday"}, "date_field", "日期类型"), ({"sort": "completed"}, "sort", "排序"),
])
def test_bad_filters_are_refused_naming_the_field(session: Session, district: District,
                                                  params: dict[str, str], field: str, words: str) -> None:
    with pytest.raises(InboxQueryError) as refused:
        parse_query(params, district.h1)
    assert field in refused.value.errors and words in refused.value.errors[field]


def test_the_page_answers_bad_filters_with_a_message(client: FlaskClient, district: District) -> None:
    login(client, district.h1)
    response = client.get("/inbox?page=abc&sort=evil&task=nosuch&date_from=2026-02-30")
    page = text(response)
    assert response.status_code == 400
    for message in ("页码：须为 1 到", "排序：不支持按 &#39;evil&#39; 排序", "任务：没有编号为 &#39;nosuch&#39; 的任务",
                    "起始日期：须为 YYYY-MM-DD"):
        assert message in page
    assert "<table" not in page


def test_unknown_parameters_are_ignored_and_defaults_apply(district: District) -> None:
    assert parse_query({"foo": "bar"}, district.h1) == InboxQuery()
    query = parse_query({"tab": "done"}, district.h1)
    assert (query.sort, query.dir) == ("completed", "desc")


def test_verifiers_are_offered_appeals_of_other_departments_only(session: Session, district: District,
                                                                  clock: ManualClock) -> None:
    """R10: never the handling department's own verifier; a recheck never to the first decider."""
    case = district.case(clock, real_name=False)
    decide = district.to_decide_appeal(case)
    assert [r.task_id for r in inbox(session, district.v1, tab="verify").rows] == [decide.id]
    assert inbox(session, district.v_own, tab="verify").rows == []
    district.work(case, "decide_appeal", district.v1, appeal_decision="rejected", decision_reason="证据不足")
    district.work(case, "consider_recheck", district.h1, request_recheck=True, recheck_reason="补充录像")
    recheck = district.task(case)
    assert inbox(session, district.v1, tab="verify").rows == []
    assert [r.task_id for r in inbox(session, district.v2, tab="verify").rows] == [recheck.id]
    assert inbox(session, district.v_own, tab="verify").rows == []
    # The SQL agrees with the rule of case_tasks for every verifier.
    for verifier in (district.v1, district.v2, district.v_own):
        offered = {r.task_id for r in inbox(session, verifier, tab="verify").rows}
        allowed = {recheck.id} if case_tasks.refusal(session, verifier, recheck, case) is None else set()
        assert offered == allowed, verifier.username
    assert badge_count(session, district.v2) == 0  # the appeal stage has no deadline of its own


def test_supervisors_are_offered_supervisor_decisions(session: Session, district: District,
                                                      clock: ManualClock) -> None:
    case = district.case(clock)
    task = to_supervisor(district, case)
    assert task.bpmn_id == "supervisor_decide"
    page = inbox(session, district.supervisor, tab="supervise")
    assert [r.task_id for r in page.rows] == [task.id] and page.rows[0].can_claim
    assert inbox(session, district.h1, tab="department").rows == []
    with pytest.raises(InboxQueryError):
        parse_query({"tab": "supervise"}, district.h1)


def test_badge_counts_tasks_overdue_or_due_today(session: Session, district: District,
                                                 clock: ManualClock) -> None:
    first, second = district.case(clock), district.case(clock)
    assert badge_count(session, district.h1) == 0
    clock.set(beijing("2026-10-10T09:00:00"))  # both due today
    assert badge_count(session, district.h1) == 2
    case_tasks.claim(session, district.task(first).id, district.h2)
    session.commit()
    assert badge_count(session, district.h1) == 1  # the other's claimed task is not offered
    assert badge_count(session, district.h2) == 2  # one held, one offered
    assert badge_count(session, district.outsider) == 0 and badge_count(session, district.auditor) == 0
    assert second.case_no


def test_lead_rows_can_be_reassigned_handler_rows_cannot(session: Session, district: District,
                                                          clock: ManualClock) -> None:
    case = district.case(clock)
    case_tasks.claim(session, district.task(case).id, district.h1)
    session.commit()
    lead_row = inbox(session, district.lead, tab="team").rows[0]
    assert (lead_row.can_reassign, lead_row.can_unclaim, lead_row.can_claim) == (True, True, False)
    own_row = inbox(session, district.h1).rows[0]
    assert (own_row.can_reassign, own_row.can_unclaim, own_row.can_claim) == (False, True, False)


def test_a_case_row_is_never_shown_to_another_department(session: Session, district: District,
                                                         clock: ManualClock) -> None:
    case: Case = district.case(clock)
    for tab in ("mine", "department", "done"):
        assert inbox(session, district.outsider, tab=tab).rows == []
    assert case.case_no
