"""Rating figures of a period, aggregated in SQL (definitions: ``report_figures``).

Every query reads the period's ratings through ``ix_rating_report`` (received_at first,
every grouped column in the index), so a month of a large store is one index range.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, select
from sqlalchemy.orm import Session, aliased

from ..models import (Case, CaseStatus, Channel, Department, Level, Rating, RatingMonthTotal, ServiceItem,
                      StaffMember)
from .report_period import GroupBy, Period, in_period
from .report_totals import totals_cover

HALL_CHANNELS = tuple(channel for channel in Channel if channel.is_hall)
GOOD_LEVELS = tuple(level for level in Level if not level.is_bad)
BAD_LEVELS = tuple(level for level in Level if level.is_bad)
HALL, ONLINE = "hall", "online"
CHANNEL_KIND_LABELS = {HALL: "线下（政务服务大厅）", ONLINE: "线上（网站、移动端、热线、短信）"}
UNRATED_LIST_LIMIT = 500


def percent(part: int, whole: int) -> Decimal | None:
    """``part / whole`` in percent to two places (half up); None when ``whole`` is 0."""
    if whole <= 0:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def group_key(group: GroupBy, rating: Any = Rating) -> ColumnElement[Any]:
    """The SQL expression a grouping puts ratings (or their cases) together by."""
    if group is GroupBy.DEPARTMENT:
        return rating.department_id
    if group is GroupBy.CHANNEL:
        return rating.channel
    if group is GroupBy.CHANNEL_KIND:
        return case((rating.channel.in_(HALL_CHANNELS), literal(HALL)), else_=literal(ONLINE))
    if group is GroupBy.ITEM:
        return rating.service_item_id
    return rating.staff_member_id


@dataclass
class RatingFigures:
    """Counts of one row (a department, a channel …) or of the whole report."""

    levels: dict[Level, int] = field(default_factory=lambda: dict.fromkeys(Level, 0))  # valid first ratings
    excluded: int = 0  # first ratings excluded by an upheld appeal (R10), counted apart
    follow_ups: int = 0  # valid follow-up ratings (追评)
    follow_ups_good: int = 0
    after_rectification: int = 0  # valid follow-ups once the first rating's case was closed
    after_rectification_good: int = 0

    @property
    def valid(self) -> int:
        return sum(self.levels.values())

    @property
    def good(self) -> int:
        return sum(self.levels[level] for level in GOOD_LEVELS)

    @property
    def bad(self) -> int:
        return sum(self.levels[level] for level in BAD_LEVELS)

    @property
    def good_rate(self) -> Decimal | None:
        return percent(self.good, self.valid)

    @property
    def bad_rate(self) -> Decimal | None:
        return percent(self.bad, self.valid)

    @property
    def after_rectification_good_rate(self) -> Decimal | None:
        return percent(self.after_rectification_good, self.after_rectification)

    def add(self, other: RatingFigures) -> None:
        for level in Level:
            self.levels[level] += other.levels[level]
        for name in ("excluded", "follow_ups", "follow_ups_good", "after_rectification", "after_rectification_good"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, Any]:
        return {"levels": {level.value: count for level, count in self.levels.items()}, "valid": self.valid,
                "good": self.good, "bad": self.bad, "excluded": self.excluded,
                "good_rate": _number(self.good_rate), "bad_rate": _number(self.bad_rate),
                **{f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("levels", "excluded")},
                "after_rectification_good_rate": _number(self.after_rectification_good_rate)}


def _number(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


Grouping = GroupBy | tuple[GroupBy, ...]
# Groupings the monthly totals can answer (they keep department and channel).
TOTALS_GROUPS = frozenset({GroupBy.DEPARTMENT, GroupBy.CHANNEL, GroupBy.CHANNEL_KIND})


def group_keys(grouping: Grouping, rating: Any = Rating) -> list[ColumnElement[Any]]:
    groups = grouping if isinstance(grouping, tuple) else (grouping,)
    return [group_key(group, rating) for group in groups]


def row_key(grouping: Grouping, values: Any) -> Any:
    """A row's key: one value, or a tuple for a composite grouping."""
    return tuple(values) if isinstance(grouping, tuple) else values[0]


def rating_figures(session: Session, period: Period, grouping: Grouping, department_id: int | None = None, *,
                   use_totals: bool = True) -> dict[Any, RatingFigures]:
    """Rating figures per group key for ratings received in ``period``. A composite
    grouping (a tuple) keys the rows by tuples. Whole months that are rolled up are read
    from the monthly totals (``report_totals``), anything else from the rating table."""
    groups = grouping if isinstance(grouping, tuple) else (grouping,)
    months = totals_cover(session, period) if use_totals and set(groups) <= TOTALS_GROUPS else None
    if months is not None:
        keys = group_keys(grouping, RatingMonthTotal)
        query = (select(*keys, RatingMonthTotal.level, RatingMonthTotal.excluded, RatingMonthTotal.sequence,
                        func.sum(RatingMonthTotal.ratings))
                 .where(RatingMonthTotal.month.in_(months))
                 .group_by(*keys, RatingMonthTotal.level, RatingMonthTotal.excluded, RatingMonthTotal.sequence))
        if department_id is not None:
            query = query.where(RatingMonthTotal.department_id == department_id)
    else:
        keys = group_keys(grouping)
        query = (select(*keys, Rating.level, Rating.excluded, Rating.sequence, func.count())
                 .where(in_period(period, Rating.received_at))
                 .group_by(*keys, Rating.level, Rating.excluded, Rating.sequence))
        if department_id is not None:
            query = query.where(Rating.department_id == department_id)
    result: dict[Any, RatingFigures] = {}
    width = len(keys)
    for row in session.execute(query):
        level, excluded, sequence, count = row[width:]
        figures = result.setdefault(row_key(grouping, row[:width]), RatingFigures())
        count = int(count)
        if not count:
            continue
        if sequence == 1:
            if excluded:
                figures.excluded += count
            else:
                figures.levels[level] += count
        elif not excluded:
            figures.follow_ups += count
            figures.follow_ups_good += count if not level.is_bad else 0
    for row in session.execute(_after_rectification(period, grouping, department_id)):
        level, count = row[width:]
        figures = result.setdefault(row_key(grouping, row[:width]), RatingFigures())
        figures.after_rectification += count
        figures.after_rectification_good += count if not level.is_bad else 0
    return result


def _after_rectification(period: Period, grouping: Grouping, department_id: int | None) -> Any:
    """Valid follow-ups received in the period on a service record whose first rating
    (still valid) had its case closed before the follow-up arrived."""
    follow_up, first = aliased(Rating), aliased(Rating)
    keys = group_keys(grouping, follow_up)
    query = (select(*keys, follow_up.level, func.count()).select_from(follow_up)
             .join(first, and_(first.service_record_id == follow_up.service_record_id, first.sequence == 1))
             .join(Case, Case.rating_id == first.id)
             .where(follow_up.sequence > 1, follow_up.excluded.is_(False), first.excluded.is_(False),
                    in_period(period, follow_up.received_at), Case.status == CaseStatus.CLOSED,
                    Case.closed_at <= follow_up.received_at)
             .group_by(*keys, follow_up.level))
    if department_id is not None:
        query = query.where(follow_up.department_id == department_id)
    return query


@dataclass
class Coverage:
    """R4: shares of service items, departments and staff that received ratings."""

    items: int = 0
    items_rated: int = 0
    departments: int = 0
    departments_rated: int = 0
    staff: int = 0
    staff_rated: int = 0
    unrated_items: list[dict[str, str]] = field(default_factory=list)  # at most UNRATED_LIST_LIMIT

    @property
    def items_rate(self) -> Decimal | None:
        return percent(self.items_rated, self.items)

    @property
    def departments_rate(self) -> Decimal | None:
        return percent(self.departments_rated, self.departments)

    @property
    def staff_rate(self) -> Decimal | None:
        return percent(self.staff_rated, self.staff)

    @property
    def items_unrated(self) -> int:
        return self.items - self.items_rated

    def as_dict(self) -> dict[str, Any]:
        return {"items": self.items, "items_rated": self.items_rated, "items_rate": _number(self.items_rate),
                "items_unrated": self.items_unrated, "departments": self.departments,
                "departments_rated": self.departments_rated, "departments_rate": _number(self.departments_rate),
                "staff": self.staff, "staff_rated": self.staff_rated, "staff_rate": _number(self.staff_rate),
                "unrated_items": self.unrated_items}


def coverage(session: Session, period: Period, department_id: int | None = None) -> Coverage:
    """Active service items, service departments (those owning an active item) and active
    staff, and how many of each received at least one rating (any level, excluded or
    not, first or follow-up) in ``period``. A department filter counts the items it owns,
    itself, and its staff. The period's ratings are read once (one grouped index scan);
    the catalogue is compared with what was rated."""
    rated_items: set[int] = set()
    rated_staff: set[int] = set()
    rated_departments: set[int] = set()
    for item, staff, dept in session.execute(
            select(Rating.service_item_id, Rating.staff_member_id, Rating.department_id)
            .where(in_period(period, Rating.received_at))
            .group_by(Rating.service_item_id, Rating.staff_member_id, Rating.department_id)):
        rated_items.add(item)
        rated_departments.add(dept)
        if staff is not None:
            rated_staff.add(staff)
    items_query = (select(ServiceItem.id, ServiceItem.code, ServiceItem.name, Department.short_name,
                          ServiceItem.department_id).join(Department).where(ServiceItem.active.is_(True))
                   .order_by(ServiceItem.code))
    staff_query = select(StaffMember.id).where(StaffMember.active.is_(True))
    if department_id is not None:
        items_query = items_query.where(ServiceItem.department_id == department_id)
        staff_query = staff_query.where(StaffMember.department_id == department_id)
    items = session.execute(items_query).all()
    staff = set(session.scalars(staff_query))
    owners = set(session.scalars(select(ServiceItem.department_id).join(Department).where(
        ServiceItem.active.is_(True), Department.active.is_(True)).distinct()))
    if department_id is not None:
        owners &= {department_id}
    unrated = [{"code": code, "name": name, "department": dept} for i, code, name, dept, _owner in items
               if i not in rated_items]
    return Coverage(items=len(items), items_rated=len(items) - len(unrated), departments=len(owners),
                    departments_rated=len(owners & rated_departments), staff=len(staff),
                    staff_rated=len(staff & rated_staff), unrated_items=unrated[:UNRATED_LIST_LIMIT])
