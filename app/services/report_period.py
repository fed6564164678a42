"""What a report covers: a period of whole days in Beijing time, the grouping of its rows,
and the department scope of the person asking — parsed from request parameters with an
error naming each bad field (in Chinese)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from calendars import SHANGHAI
from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from ..models import Department, Role, User
from ..models.types import LabelledEnum
from .request_values import whole_number

EARLIEST = date(2018, 1, 1)
LATEST = date(2100, 12, 31)
MAX_DAYS = 3 * 366  # a report spans at most three years
# Roles that see every department's figures; a department lead sees their own only.
ALL_DEPARTMENTS_ROLES = (Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)
REPORT_ROLES = (*ALL_DEPARTMENTS_ROLES, Role.LEAD)
FIELD_LABELS = {"month": "月份", "start": "起始日期", "end": "结束日期", "group": "分组方式", "department": "部门"}


class ReportQueryError(ValueError):
    """Bad parameters: ``errors`` maps each field to a message that names it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class NotVisible(LookupError):
    """A department this user may not see (answered as 404)."""


class GroupBy(LabelledEnum):
    DEPARTMENT = ("department", "按部门")
    CHANNEL_KIND = ("channel_kind", "线下大厅与线上渠道")
    CHANNEL = ("channel", "按评价渠道")
    ITEM = ("item", "按服务事项")
    STAFF = ("staff", "按工作人员")


@dataclass(frozen=True)
class Period:
    """The days ``first`` to ``last`` inclusive, Beijing time."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("a period ends on or after its first day")

    @classmethod
    def month(cls, text: str) -> Period:
        """``2026-11`` → 1 to 30 November 2026."""
        try:
            year, month = (int(part) for part in text.split("-"))
            first = date(year, month, 1)
        except (TypeError, ValueError):
            raise ValueError(f"{text!r} is not a month like 2026-11") from None
        if len(text) != 7:
            raise ValueError(f"{text!r} is not a month like 2026-11")
        return cls(first, _next_month(first) - timedelta(days=1))

    @classmethod
    def of_day(cls, day: date) -> Period:
        return cls(day, day)

    @property
    def start(self) -> datetime:
        """The first instant of the period (00:00 Beijing time of the first day), in UTC."""
        return datetime.combine(self.first, time(), SHANGHAI).astimezone(timezone.utc)

    @property
    def end(self) -> datetime:
        """The first instant after the period (exclusive), in UTC."""
        return datetime.combine(self.last + timedelta(days=1), time(), SHANGHAI).astimezone(timezone.utc)

    @property
    def is_month(self) -> bool:
        return self.first.day == 1 and self.last == _next_month(self.first) - timedelta(days=1)

    @property
    def month_key(self) -> str:
        return f"{self.first:%Y-%m}"

    @property
    def label(self) -> str:
        if self.is_month:
            return f"{self.first.year}年{self.first.month}月"
        if self.first == self.last:
            return f"{self.first:%Y-%m-%d}"
        return f"{self.first:%Y-%m-%d} 至 {self.last:%Y-%m-%d}"

    def previous_month(self) -> Period:
        return Period.month(f"{(self.first - timedelta(days=1)):%Y-%m}")

    def next_month(self) -> Period:
        return Period.month(f"{_next_month(self.first):%Y-%m}")

    def months_back(self, count: int) -> list[Period]:
        """The ``count`` months ending with this period's month, oldest first."""
        months = [Period.month(f"{self.first:%Y-%m}")]
        while len(months) < count:
            months.insert(0, months[0].previous_month())
        return months


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def in_period(period: Period, moment: Any) -> ColumnElement[bool]:
    """SQL: ``moment`` (a timestamp column) falls in the period."""
    return and_(moment >= period.start, moment < period.end)


def month_of(moment: datetime) -> Period:
    """The month (Beijing time) that ``moment`` falls in."""
    return Period.month(f"{moment.astimezone(SHANGHAI):%Y-%m}")


@dataclass(frozen=True)
class ReportQuery:
    period: Period
    group: GroupBy
    department_id: int | None  # None: every department


def _date(raw: str, field: str, errors: dict[str, str]) -> date | None:
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        errors[field] = f"{FIELD_LABELS[field]}应为 YYYY-MM-DD 格式的日期"
        return None
    if not EARLIEST <= value <= LATEST:
        errors[field] = f"{FIELD_LABELS[field]}应在 {EARLIEST} 至 {LATEST} 之间"
        return None
    return value


def parse_period(args: Mapping[str, str], today: date) -> Period:
    """``month`` (YYYY-MM), or ``start`` and ``end`` (YYYY-MM-DD); the current month when
    none is given."""
    errors: dict[str, str] = {}
    month = (args.get("month") or "").strip()
    start, end = (args.get("start") or "").strip(), (args.get("end") or "").strip()
    if month:
        try:
            period = Period.month(month)
        except ValueError:
            raise ReportQueryError({"month": "月份应为 YYYY-MM 格式，例如 2026-11"}) from None
        if not EARLIEST <= period.first <= LATEST:
            raise ReportQueryError({"month": f"月份应在 {EARLIEST:%Y-%m} 至 {LATEST:%Y-%m} 之间"})
        return period
    if not start and not end:
        return Period.month(f"{today:%Y-%m}")
    first = _date(start, "start", errors) if start else None
    last = _date(end, "end", errors) if end else None
    if not start:
        errors["start"] = "请填写起始日期"
    if not end:
        errors["end"] = "请填写结束日期"
    if not errors and first and last:
        if last < first:
            errors["end"] = "结束日期不能早于起始日期"
        elif (last - first).days >= MAX_DAYS:
            errors["end"] = f"统计期间最长 {MAX_DAYS} 天"
    if errors or first is None or last is None:
        raise ReportQueryError(errors)
    return Period(first, last)


def department_scope(user: User) -> int | None:
    """None when ``user`` sees every department, else the one department they see."""
    if user.has_role(*ALL_DEPARTMENTS_ROLES):
        return None
    if user.has_role(Role.LEAD) and user.department_id is not None:
        return user.department_id
    raise NotVisible("no report scope")


def parse_query(session: Session, user: User, args: Mapping[str, str], today: date,
                default_group: GroupBy = GroupBy.DEPARTMENT) -> ReportQuery:
    """The period, grouping and department of a report request. A department the user may
    not see (or that does not exist) is ``NotVisible``; a lead always gets their own."""
    scope = department_scope(user)
    errors: dict[str, str] = {}
    try:
        period = parse_period(args, today)
    except ReportQueryError as error:
        errors.update(error.errors)
    group_raw = (args.get("group") or default_group.value).strip()
    group = next((g for g in GroupBy if g.value == group_raw), None)
    if group is None:
        errors["group"] = "分组方式无效，可选：" + "、".join(g.label for g in GroupBy)
    department_raw = (args.get("department") or "").strip()
    department_id: int | None = scope
    if department_raw:
        if whole_number(department_raw) is None:
            errors["department"] = "部门应为部门编号"
        else:
            department_id = int(department_raw)
            if scope is not None and department_id != scope:
                raise NotVisible(department_raw)
            if session.scalar(select(Department.id).where(Department.id == department_id)) is None:
                raise NotVisible(department_raw)
    if errors:
        raise ReportQueryError(errors)
    assert group is not None
    return ReportQuery(period, group, department_id)
