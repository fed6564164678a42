"""Report figures by department, hall / online channel, channel, service item or staff
member, for any period — the numbers behind the report pages, the exports and the
monthly bulletin. Everything is aggregated in SQL (``report_ratings``, ``report_cases``);
rating counts of whole months that have ended come from the monthly totals kept in step
with the ratings (``report_totals``), which give exactly the same numbers.

Definitions (tests: ``tests/app/test_report_figures.py``, the known month):

Period
    Whole days in Beijing time (Asia/Shanghai). A rating belongs to the period in which it
    was *received* (``received_at``, the moment the clocks of R7 count from), so a bulletin
    already published is never changed by data arriving later. A case belongs to the
    period of its rating.

Ratings (first ratings: 评价次数 = 1)
    *Valid* ratings are those not excluded. Ratings by level count valid first ratings.
    Good-rating rate = (非常满意 + 满意 + 基本满意) / valid; bad-rating rate = (不满意 +
    非常不满意) / valid. Ratings excluded by an upheld appeal (R10) are counted apart
    ("excluded") and left out of both rates. Rates are percentages to two places, rounded
    half up; a rate over nothing is shown as "—" (None).
Follow-up ratings (追评, 评价次数 = 2)
    Counted apart, never in the levels or rates above: valid follow-ups and the good ones
    among them; "after rectification" are the valid follow-ups on a service record whose
    (valid) first rating had its case closed before the follow-up arrived, with the good
    ones among them (the citizen's verdict on the rectification).
Cases (one per bad rating; grouped by the rating's department, channel, item, staff)
    Opened: every case of the period. Cases whose rating was excluded by an upheld appeal
    are counted ("excluded") and left out of every other case figure. Of the rest, at the
    time of the report (``as_of``, normally now):

    - contacted within 3 working days: real-name cases whose contact task was completed by
      ``contact_due_at``; the rate is over the real-name cases whose contact was completed
      or whose contact deadline has passed (still at triage, or the contact task open).
      Cases resolved on the spot need no contact and are not counted.
    - rectified within 5 working days, or 15 when complex: cases that reached the
      rectification task whose first rectification report (task ``rectify`` completed with
      action "report") came by the rectification deadline in force at that moment — the
      newest rectification deadline timer set by then, which is 5 working days from
      receipt, 15 once the case was made complex, and the days that were left after an
      appeal paused the clock. The rate is over the cases whose report is in, or whose
      deadline has passed while not paused by a pending appeal or recheck.
    - closed on time: closed by the case's rectification deadline (``rectify_due_at``, as
      above; restarted by a reopening after a dissatisfied return visit); the rate is over
      closed cases and open ones past that deadline (not paused).
    - overdue now: open cases marked overdue (some deadline was missed and escalated).
    - real-name return-visit-and-rectification rate (R8, target 100 %): real-name cases
      with a return visit that reached the citizen (回访, visited = yes) and a filed record
      (备案), over the real-name cases that are closed or past their deadline.
    - appeals filed, decided upheld / rejected, and rechecks (with those overturning the
      rejection), counted over every case of the period, excluded ones included.
Coverage (R4)
    Of the active service items, the service departments (active departments owning an
    active item) and the active staff: how many received at least one rating (any level,
    excluded or not, first or follow-up) in the period; and the items that received none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Channel, Department, ServiceItem, StaffMember
from .report_cases import CaseFigures, case_figures
from .report_period import GroupBy, Period
from .report_ratings import CHANNEL_KIND_LABELS, HALL, ONLINE, Coverage, RatingFigures, coverage, rating_figures

NO_STAFF = "未记录工作人员"


@dataclass
class FigureRow:
    key: str
    label: str
    ratings: RatingFigures = field(default_factory=RatingFigures)
    cases: CaseFigures = field(default_factory=CaseFigures)
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. a channel's hall/online kind

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, **self.extra, "ratings": self.ratings.as_dict(),
                "cases": self.cases.as_dict()}


@dataclass
class Figures:
    period: Period
    group: GroupBy
    department_id: int | None
    as_of: datetime
    rows: list[FigureRow]
    total: FigureRow
    coverage: Coverage | None


def key_text(value: Any) -> str:
    if value is None:
        return "none"
    return str(value.value) if isinstance(value, Channel) else str(value)


def _labels(session: Session, group: GroupBy, keys: set[Any],
            department_id: int | None) -> dict[Any, tuple[str, dict[str, Any]]]:
    """Label (and extra columns) of each row; rows without data are added where a reader
    expects to see them: every channel, both channel kinds, every service department."""
    if group is GroupBy.CHANNEL:
        return {c: (c.label, {"kind": HALL if c.is_hall else ONLINE}) for c in Channel}
    if group is GroupBy.CHANNEL_KIND:
        return {kind: (label, {}) for kind, label in CHANNEL_KIND_LABELS.items()}
    if group is GroupBy.DEPARTMENT:
        owners = select(ServiceItem.department_id).where(ServiceItem.active.is_(True))
        query = select(Department.id, Department.name, Department.short_name, Department.credit_code).where(
            (Department.id.in_(keys)) | (Department.active.is_(True) & Department.id.in_(owners)))
        if department_id is not None:
            query = query.where(Department.id == department_id)
        return {i: (name, {"short_name": short, "credit_code": code}) for i, name, short, code in session.execute(query)}
    if group is GroupBy.ITEM:
        rows = session.execute(select(ServiceItem.id, ServiceItem.code, ServiceItem.name)
                               .where(ServiceItem.id.in_(keys)))
        return {i: (f"{code} {name}", {"code": code}) for i, code, name in rows}
    rows = session.execute(select(StaffMember.id, StaffMember.name, StaffMember.staff_no, Department.short_name)
                           .join(Department).where(StaffMember.id.in_(keys - {None})))
    labels: dict[Any, tuple[str, dict[str, Any]]] = {
        i: (f"{name}（{no}，{dept}）", {"staff_no": no}) for i, name, no, dept in rows}
    if None in keys:
        labels[None] = (NO_STAFF, {})
    return labels


def figures(session: Session, period: Period, group: GroupBy, as_of: datetime,
            department_id: int | None = None, *, with_coverage: bool = True,
            ratings: dict[Any, RatingFigures] | None = None, cases: dict[Any, CaseFigures] | None = None) -> Figures:
    """Every figure of the report, per row and in total, with coverage (unless not wanted).
    Rating and case figures already computed for this grouping may be passed in."""
    if ratings is None:
        ratings = rating_figures(session, period, group, department_id)
    if cases is None:
        cases = case_figures(session, period, group, as_of, department_id)
    labels = _labels(session, group, set(ratings) | set(cases), department_id)
    rows = []
    total = FigureRow("total", "合计")
    for key in set(labels) | set(ratings) | set(cases):
        label, extra = labels.get(key, (key_text(key), {}))
        row = FigureRow(key_text(key), label, ratings.get(key, RatingFigures()), cases.get(key, CaseFigures()), extra)
        rows.append(row)
        total.ratings.add(row.ratings)
        total.cases.add(row.cases)
    if group in (GroupBy.CHANNEL, GroupBy.CHANNEL_KIND):  # in their fixed order
        index = {key_text(key): position for position, key in enumerate(labels)}
        rows.sort(key=lambda r: index.get(r.key, len(index)))
    else:
        rows.sort(key=lambda r: (r.key == "none", r.label))
    return Figures(period, group, department_id, as_of, rows, total,
                   coverage(session, period, department_id) if with_coverage else None)
