"""``hcp seed-demo``: a realistic district, created once."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.identifiers import validate_uscc
from app.models import Department, Role, ServiceItem, ServiceRecord, User
from app.services.accounts import authenticate
from app.services.demo_data import DEMO_PASSWORD
from app.services.demo_seed import seed_demo


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_seed_demo_builds_a_district_and_is_idempotent(session: Session) -> None:
    report = seed_demo(session)
    session.commit()
    departments = session.scalars(select(Department)).all()
    assert len(departments) >= 10
    assert all(validate_uscc(d.credit_code) == d.credit_code for d in departments)
    assert any("不动产登记中心" in d.name for d in departments)
    assert sum(d.is_service_center for d in departments) == 1
    assert count(session, ServiceItem) >= 40
    assert count(session, ServiceRecord) >= 200
    users = session.scalars(select(User)).all()
    assert set().union(*(u.roles for u in users)) == set(Role), "users for every role"
    assert all(u.department for u in users if u.has_role(Role.HANDLER, Role.LEAD))
    assert {u.username for u in report.new_users} == {u.username for u in users}
    assert authenticate(session, "yibao.h1", DEMO_PASSWORD) is not None

    before = {model: count(session, model) for model in (Department, ServiceItem, ServiceRecord, User)}
    again = seed_demo(session)
    assert again.created == {} and again.new_users == []
    assert before == {model: count(session, model) for model in before}


def test_service_records_belong_to_their_items_department(session: Session) -> None:
    seed_demo(session)
    records = session.scalars(select(ServiceRecord)).all()
    for record in records:
        assert record.department_id == record.service_item.department_id
        assert record.staff_member.department_id == record.department_id
        assert record.completed_at > record.accepted_at
        assert record.accepted_at.astimezone().weekday() < 5 or record.accepted_at.weekday() < 5
