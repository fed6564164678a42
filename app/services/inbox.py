"""Inboxes: the tasks a user works, may take, or has done — one query for a page of rows
(with case, rating, service item, department and claimer joined in), one for the count —
and the navigation badge of tasks overdue or due today.

Who is offered what follows ``case_tasks.refusal``, written as SQL so that paging is
right: a task of the user's role, of the user's department for department roles; for a
verifier never a case of their own department, and never a recheck of the appeal they
decided themselves (R10).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

import calendars
from sqlalchemy import String, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from workflows.clock import current_clock
from workflows.tables import DONE, READY, HumanTask

from ..models import (Case, CaseStage, Department, Dimension, Level, Rating, RatingDimension, Role, ServiceItem, User,
                      UserRole)
from . import calendar_years
from .inbox_query import InboxQuery, tabs_for

SHANGHAI = calendars.SHANGHAI
Claimer = aliased(User, name="claimer")
Decider = aliased(HumanTask, name="decider")
CaseRow = aliased(Case, name="case_row")
OwnCase = aliased(Case, name="own_case")
# A task whose own deadline timer has fired keeps the date on the case row of its stage's clock.
STAGE_CLOCKS = {"on_spot": "contact_due_at", "contact": "contact_due_at", "rectification": "rectify_due_at"}


def _of_the_case(column: Any) -> Any:
    return select(column).where(CaseRow.instance_id == HumanTask.instance_id).correlate(HumanTask).scalar_subquery()


def deadline_column() -> ColumnElement[datetime]:
    """The task's deadline: its waiting deadline timer, else its stage's clock on the case.

    The case row is read only for a task without a due time of its own (its timer fired),
    so lists and counts need no join for it."""
    by_stage = case(*((HumanTask.stage == stage, _of_the_case(getattr(CaseRow, column)))
                      for stage, column in STAGE_CLOCKS.items()), else_=None)
    return func.coalesce(HumanTask.due_at, by_stage)


def _not_of_department(department_id: int) -> ColumnElement[bool]:
    """The task's case is not handled by ``department_id`` (the set of that department's
    process instances is read once, not per task)."""
    own = select(OwnCase.instance_id).where(OwnCase.department_id == department_id, OwnCase.instance_id.is_not(None))
    return HumanTask.instance_id.not_in(own)


def _appeal_decider() -> Any:
    """SQL of ``case_tasks._appeal_decider``: who completed the latest appeal decision."""
    return (select(Decider.completed_by)
            .where(Decider.instance_id == HumanTask.instance_id, Decider.bpmn_id == "decide_appeal",
                   Decider.status == DONE)
            .order_by(Decider.completed_at.desc()).limit(1).scalar_subquery())


def _department_roles(user: User) -> list[str]:
    return [role.value for role in (Role.HANDLER, Role.LEAD) if user.has_role(role)]


def offered_to(user: User | _RoleView) -> ColumnElement[bool]:
    """READY unclaimed tasks ``user`` may take (case_tasks.refusal as SQL)."""
    offers: list[ColumnElement[bool]] = []
    roles = _department_roles(user)
    if roles and user.department_id is not None:
        offers.append(and_(HumanTask.department_id == user.department_id, HumanTask.role.in_(roles)))
    if user.has_role(Role.VERIFIER):
        own = [_not_of_department(user.department_id)] if user.department_id is not None else []
        offers.append(and_(HumanTask.role == Role.VERIFIER.value, HumanTask.department_id.is_(None), *own,
                           or_(HumanTask.stage.is_distinct_from(CaseStage.RECHECK.value),
                               func.coalesce(_appeal_decider(), -1) != user.id)))
    if user.has_role(Role.SUPERVISOR):
        offers.append(and_(HumanTask.role == Role.SUPERVISOR.value, HumanTask.department_id.is_(None)))
    if not offers:
        return literal(False)
    return and_(HumanTask.status == READY, HumanTask.claimed_by.is_(None), or_(*offers))


def _tab_condition(user: User, tab: str) -> ColumnElement[bool]:
    if tab == "mine":
        return and_(HumanTask.claimed_by == user.id, HumanTask.status == READY)
    if tab == "done":
        return and_(HumanTask.completed_by == user.id, HumanTask.status == DONE)
    if tab == "team":
        return and_(HumanTask.department_id == user.department_id, HumanTask.status == READY)
    if tab == "department":
        return and_(HumanTask.status == READY, HumanTask.claimed_by.is_(None),
                    HumanTask.department_id == user.department_id, HumanTask.role.in_(_department_roles(user)))
    if tab == "verify":
        return offered_to(_RoleView(user, Role.VERIFIER))
    if tab == "supervise":
        return offered_to(_RoleView(user, Role.SUPERVISOR))
    raise ValueError(f"unknown tab {tab!r}")


class _RoleView:
    """``user`` seen with one role only (a tab shows one role's offers)."""

    def __init__(self, user: User, role: Role) -> None:
        self.id, self.department_id, self._role = user.id, user.department_id, role

    def has_role(self, *roles: Role) -> bool:
        return self._role in roles


def _day_start(day: Any) -> datetime:
    return datetime.combine(day, time.min, SHANGHAI)


def _filters(query: InboxQuery, now: datetime) -> tuple[list[ColumnElement[bool]], set[str]]:
    """Conditions of the filters, and the tables they need besides wf_task."""
    conditions: list[ColumnElement[bool]] = []
    needs: set[str] = set()
    if query.task:
        conditions.append(HumanTask.bpmn_id == query.task)
    if query.stage:
        conditions.append(HumanTask.stage == query.stage)
    if query.item:
        conditions.append(Rating.service_item_id == query.item)
        needs |= {"case", "rating"}
    if query.overdue:
        conditions.append(deadline_column() < now)
    column = HumanTask.created_at if query.date_field == "created" else deadline_column()
    if query.date_from:
        conditions.append(column >= _day_start(query.date_from))
    if query.date_to:
        conditions.append(column < _day_start(query.date_to + timedelta(days=1)))
    return conditions, needs


LEVEL_ORDER = case((Rating.level == Level.VERY_DISSATISFIED, 1), (Rating.level == Level.DISSATISFIED, 2), else_=3)
SORT_COLUMNS: dict[str, Any] = {
    "deadline": deadline_column, "case": lambda: Case.case_no, "item": lambda: ServiceItem.name,
    "level": lambda: LEVEL_ORDER, "task": lambda: HumanTask.name, "created": lambda: HumanTask.created_at,
    "claimed": lambda: Claimer.display_name, "completed": lambda: HumanTask.completed_at}


# The tables each sort key reads besides wf_task.
SORT_NEEDS = {"case": {"case"}, "item": {"case", "rating", "item"},
              "level": {"case", "rating"}, "claimed": {"claimer"}}


def _scope(user: User, query: InboxQuery, now: datetime, *, for_count: bool) -> Any:
    """SELECT … FROM wf_task [JOIN case_file …] WHERE tab and filters, joining only what
    the tab, the filters and (for rows) the sort read."""
    conditions, needs = _filters(query, now)
    if not for_count:
        needs |= SORT_NEEDS.get(query.sort, set())
    columns = [func.count()] if for_count else [HumanTask.id.label("task_id"),
                                               SORT_COLUMNS[query.sort]().label("sort_key")]
    statement = select(*columns).select_from(HumanTask)
    if needs & {"case", "rating", "item"}:
        statement = statement.join(Case, Case.instance_id == HumanTask.instance_id)
    if needs & {"rating", "item"}:
        statement = statement.join(Rating, Rating.id == Case.rating_id)
    if "item" in needs:
        statement = statement.join(ServiceItem, ServiceItem.id == Rating.service_item_id)
    if "claimer" in needs:
        statement = statement.outerjoin(Claimer, Claimer.id == HumanTask.claimed_by)
    return statement.where(_tab_condition(user, query.tab), *conditions)


def _dimensions_column(session: Session) -> Any:
    values = RatingDimension.dimension
    aggregate = (func.string_agg(values, literal(",")) if session.get_bind().dialect.name == "postgresql"
                 else func.group_concat(values, ","))
    return (select(aggregate).where(RatingDimension.rating_id == Rating.id)
            .scalar_subquery().cast(String).label("dimensions"))


@dataclass
class InboxRow:
    task_id: int
    bpmn_id: str
    task_name: str
    role: str | None
    status: str
    stage: str | None
    department_id: int | None
    department: str
    case_no: str
    item: str
    level: Level
    dimensions: list[Dimension]
    created_at: datetime
    deadline: datetime | None
    provisional: bool
    days_left: int | None
    urgency: str  # overdue / soon / ok / none
    claimed_by: int | None
    claimed_by_name: str | None
    completed_at: datetime | None
    can_claim: bool = False
    can_unclaim: bool = False
    can_reassign: bool = False

    @property
    def stage_label(self) -> str:
        return CaseStage(self.stage).label if self.stage in CaseStage._value2member_map_ else ""


@dataclass
class InboxPage:
    query: InboxQuery
    rows: list[InboxRow]
    total: int
    tabs: list[tuple[str, str]] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.query.per_page))


def list_tasks(session: Session, user: User, query: InboxQuery) -> InboxPage:
    """A page of ``user``'s inbox tab (``query`` from :func:`inbox_query.parse_query`)."""
    now = current_clock().now()
    calendar_years.sync_calendar(session)  # working days on the calendar as loaded
    total = session.scalar(_scope(user, query, now, for_count=True)) or 0
    direction = (lambda c: c.desc().nulls_last()) if query.dir == "desc" else (lambda c: c.asc().nulls_last())
    page = (_scope(user, query, now, for_count=False)
            .order_by(direction(SORT_COLUMNS[query.sort]()), direction(HumanTask.id))
            .limit(query.per_page).offset((query.page - 1) * query.per_page).subquery("page"))
    statement = (select(HumanTask.id, HumanTask.bpmn_id, HumanTask.name, HumanTask.role, HumanTask.status,
                        HumanTask.stage, HumanTask.department_id, HumanTask.created_at, HumanTask.claimed_by,
                        HumanTask.completed_at, deadline_column().label("deadline"),
                        Case.case_no, Case.deadlines_provisional, Department.short_name.label("department"),
                        Rating.level, ServiceItem.name.label("item"), Claimer.display_name.label("claimer"),
                        _dimensions_column(session))
                 .select_from(page).join(HumanTask, HumanTask.id == page.c.task_id)
                 .join(Case, Case.instance_id == HumanTask.instance_id)
                 .join(Department, Department.id == Case.department_id)
                 .join(Rating, Rating.id == Case.rating_id)
                 .join(ServiceItem, ServiceItem.id == Rating.service_item_id)
                 .outerjoin(Claimer, Claimer.id == HumanTask.claimed_by)
                 .order_by(direction(page.c.sort_key), direction(page.c.task_id)))
    rows = [_row(user, record, now) for record in session.execute(statement)]
    return InboxPage(query, rows, total, tabs_for(user))


def _row(user: User, record: Any, now: datetime) -> InboxRow:
    deadline, days_left, urgency, provisional = record.deadline, None, "none", bool(record.deadlines_provisional)
    if deadline is not None and record.status == READY:
        days_left, guessed = calendars.provisional_remaining_working_days(now, deadline)
        provisional = provisional or guessed
        urgency = "overdue" if deadline < now else "soon" if days_left <= 1 else "ok"
    dimensions = set((record.dimensions or "").split(","))
    row = InboxRow(task_id=record.id, bpmn_id=record.bpmn_id, task_name=record.name, role=record.role,
                   status=record.status, stage=record.stage, department_id=record.department_id,
                   department=record.department, case_no=record.case_no, item=record.item, level=record.level,
                   dimensions=[d for d in Dimension if d.value in dimensions], created_at=record.created_at,
                   deadline=deadline, provisional=provisional, days_left=days_left, urgency=urgency,
                   claimed_by=record.claimed_by, claimed_by_name=record.claimer, completed_at=record.completed_at)
    if record.status == READY:
        is_lead = user.has_role(Role.LEAD) and row.department_id is not None \
            and row.department_id == user.department_id
        row.can_claim = row.claimed_by is None and row.role is not None and user.has_role(Role(row.role)) \
            and row.department_id in (None, user.department_id)
        row.can_unclaim = row.claimed_by is not None and (row.claimed_by == user.id or is_lead)
        row.can_reassign = is_lead
    return row


def badge_count(session: Session, user: User) -> int:
    """Tasks overdue or due today (Beijing) that are ``user``'s or offered to them."""
    if not user.has_role(Role.HANDLER, Role.LEAD, Role.VERIFIER, Role.SUPERVISOR):
        return 0
    today = current_clock().now().astimezone(SHANGHAI).date()
    end_of_today = _day_start(today + timedelta(days=1))
    due = deadline_column() < end_of_today
    base = select(func.count()).select_from(HumanTask)
    mine = base.where(HumanTask.claimed_by == user.id, HumanTask.status == READY, due).scalar_subquery()
    offered = base.where(offered_to(user), due).scalar_subquery()
    return session.scalar(select(mine + offered)) or 0


def reassign_candidates(session: Session, user: User) -> dict[str, list[tuple[int, str]]]:
    """For a department lead: active colleagues by role (handler, lead), to reassign to."""
    if not user.has_role(Role.LEAD) or user.department_id is None:
        return {}
    candidates: dict[str, list[tuple[int, str]]] = {}
    rows = session.execute(select(User.id, User.display_name, UserRole.role).join(UserRole)
                           .where(User.department_id == user.department_id, User.active.is_(True),
                                  UserRole.role.in_((Role.HANDLER, Role.LEAD)))
                           .order_by(User.display_name, User.id))
    for row in rows:
        candidates.setdefault(row.role.value, []).append((row.id, row.display_name))
    return candidates
