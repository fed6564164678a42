"""``hcp seed-demo``: a realistic demo district, created once; running again adds nothing."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..identifiers import make_uscc
from ..models import Department, Role, ServiceItem, ServiceRecord, StaffMember, User
from . import demo_data as data
from .accounts import create_user

SHANGHAI = ZoneInfo("Asia/Shanghai")
RECORD_COUNT = 320
# Service records fall on the weekdays of this window, which holds no public holiday.
RECORD_WINDOW = (date(2026, 10, 12), date(2026, 11, 27))


@dataclass
class SeedReport:
    created: dict[str, int] = field(default_factory=dict)
    new_users: list[User] = field(default_factory=list)

    def count(self, kind: str) -> None:
        self.created[kind] = self.created.get(kind, 0) + 1


def seed_demo(session: Session) -> SeedReport:
    """Create whatever of the demo district is missing, in the caller's transaction."""
    report = SeedReport()
    departments = _departments(session, report)
    items = _service_items(session, departments, report)
    staff = _staff(session, departments, report)
    _users(session, departments, report)
    _service_records(session, items, staff, report)
    return report


def _departments(session: Session, report: SeedReport) -> dict[str, Department]:
    existing = {d.name: d for d in session.scalars(select(Department))}
    result = {}
    for index, (slug, name, short, centre) in enumerate(data.DEPARTMENTS):
        department = existing.get(name)
        if department is None:
            department = Department(
                credit_code=make_uscc("11", data.REGION_CODE, f"{24_601_000 + index * 137:08d}"),
                name=name, short_name=short, region_code=data.REGION_CODE, is_service_center=centre)
            session.add(department)
            report.count("departments")
        result[slug] = department
    session.flush()
    return result


def _service_items(session: Session, departments: dict[str, Department],
                   report: SeedReport) -> list[ServiceItem]:
    existing = {i.code: i for i in session.scalars(select(ServiceItem))}
    items = []
    for slug, entries in data.SERVICE_ITEMS.items():
        department = departments[slug]
        for number, (name, kind, days) in enumerate(entries, start=1):
            code = f"{department.credit_code}{kind.catalogue_code}{number:04d}"
            item = existing.get(code)
            if item is None:
                item = ServiceItem(code=code, name=name, kind=kind, department=department, promised_days=days)
                session.add(item)
                report.count("service items")
            items.append(item)
    session.flush()
    return items


def _person_name(rng: random.Random) -> str:
    return rng.choice(data.SURNAMES) + rng.choice(data.GIVEN_NAMES)


def _staff(session: Session, departments: dict[str, Department],
           report: SeedReport) -> dict[int, list[StaffMember]]:
    rng = random.Random("staff")
    existing = {(s.department_id, s.staff_no): s for s in session.scalars(select(StaffMember))}
    result: dict[int, list[StaffMember]] = {}
    for index, slug in enumerate(data.SERVICE_ITEMS, start=1):
        department = departments[slug]
        for number in range(1, 4):
            staff_no = f"XJ{index:02d}{number:02d}"
            name = _person_name(rng)
            member = existing.get((department.id, staff_no))
            if member is None:
                member = StaffMember(department=department, staff_no=staff_no, name=name,
                                     window=f"综合受理{(index * 3 + number) % 24 + 1}号窗口")
                session.add(member)
                report.count("staff members")
            result.setdefault(department.id, []).append(member)
    session.flush()
    return result


def _users(session: Session, departments: dict[str, Department], report: SeedReport) -> None:
    known = set(session.scalars(select(User.username)))
    wanted = [(u, n, roles, departments[d] if d else None) for u, n, roles, d in data.CENTRAL_USERS]
    rng = random.Random("users")
    for slug in data.SERVICE_ITEMS:
        department = departments[slug]
        wanted.append((f"{slug}.lead", f"{_person_name(rng)}（{department.short_name}负责人）",
                       [Role.LEAD], department))
        for number in (1, 2):
            wanted.append((f"{slug}.h{number}", _person_name(rng), [Role.HANDLER], department))
    for username, name, roles, department in wanted:
        if username in known:
            continue
        user = create_user(session, username=username, display_name=name, password=data.DEMO_PASSWORD,
                           roles=roles, department=department)
        report.new_users.append(user)
        report.count("users")
    session.flush()


def _working_days() -> list[date]:
    start, end = RECORD_WINDOW
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    return [d for d in days if d.weekday() < 5]


def _service_records(session: Session, items: list[ServiceItem], staff: dict[int, list[StaffMember]],
                     report: SeedReport) -> None:
    rng = random.Random("records")
    known = set(session.scalars(select(ServiceRecord.record_no)))
    days = _working_days()
    for sequence in range(1, RECORD_COUNT + 1):
        # Draw every value first, so the stream is the same whether or not the record exists.
        day, item = rng.choice(days), rng.choice(items)
        accepted = datetime.combine(day, time(9, 0), SHANGHAI) + timedelta(minutes=rng.randrange(0, 8 * 60))
        duration = timedelta(minutes=rng.randrange(5, 60)) if (item.promised_days or 0) <= 1 \
            else timedelta(days=rng.randrange(1, item.promised_days + 1))
        member = rng.choice(staff[item.department_id])
        record_no = f"{data.REGION_CODE}{day:%Y%m%d}{sequence:05d}"
        if record_no in known:
            continue
        session.add(ServiceRecord(
            record_no=record_no, service_item=item, department_id=item.department_id,
            staff_member=member, accepted_at=accepted, completed_at=accepted + duration))
        report.count("service records")
    session.flush()
