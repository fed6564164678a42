"""Small builders for test data, committed through the code under test's own services."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone

from sqlalchemy.orm import Session

from app.identifiers import make_uscc
from app.models import (ApiKey, Channel, Department, ItemKind, Level, Rating, Role, ServiceItem,
                        ServiceRecord, User)
from app.services.accounts import create_user
from app.services.api_keys import create_key

PASSWORD = "Correct-horse-42"
_numbers = itertools.count(1)


def department(session: Session, name: str | None = None, *, service_center: bool = False) -> Department:
    n = next(_numbers)
    dept = Department(credit_code=make_uscc("11", "360112", f"{70_000_000 + n:08d}"),
                      name=name or f"测试部门{n}", short_name=(name or f"测试部门{n}")[:30],
                      region_code="360112", is_service_center=service_center)
    session.add(dept)
    session.flush()
    return dept


def user(session: Session, username: str, roles: list[Role], dept: Department | None = None,
         password: str = PASSWORD) -> User:
    account = create_user(session, username=username, display_name=f"用户{username}", password=password,
                          roles=roles, department=dept)
    session.flush()
    return account


def rating(session: Session, dept: Department, *, level: Level = Level.DISSATISFIED,
           external_id: str | None = None) -> Rating:
    n = next(_numbers)
    item = ServiceItem(code=f"TEST{n:06d}", name="测试事项", kind=ItemKind.PUBLIC_SERVICE, department=dept)
    record = ServiceRecord(record_no=f"R{n:08d}", service_item=item, department=dept)
    now = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
    result = Rating(source="test", external_id=external_id or f"ext-{n}", service_record=record,
                    service_item=item, department=dept, channel=Channel.WINDOW_DEVICE, level=level,
                    comment="等候时间太长", evaluated_at=now, received_at=now)
    session.add(result)
    session.flush()
    return result


def intake_source(session: Session, key_name: str = "portal") -> tuple[Department, ApiKey]:
    """A department with its service item ``YB-1`` and an intake API key (committed): what a
    test that feeds ratings through the intake service needs."""
    dept = department(session, "新建区医疗保障局")
    session.add(ServiceItem(code="YB-1", name="异地就医备案", kind=ItemKind.PUBLIC_SERVICE, department=dept))
    key, _token = create_key(session, key_name, Channel.WEB_PORTAL, "admin", datetime.now(timezone.utc))
    session.commit()
    return dept, key
