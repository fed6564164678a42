"""Administration of departments and service items: create, edit, search, pagination,
errors (USCC check digit, duplicates) at the field, CSRF required."""

from __future__ import annotations

import itertools

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.identifiers import make_uscc
from app.models import Department, ItemKind, Role, ServiceItem, User

from . import factories
from .admin_support import field_errors, post_form, sign_in, text

_serial = itertools.count(1)


@pytest.fixture
def admin(session: Session, client: FlaskClient) -> User:
    user = factories.user(session, "admin.dir", [Role.ADMIN])
    sign_in(client, "admin.dir")
    return user


def uscc() -> str:
    return make_uscc("11", "360121", f"{81_000_000 + next(_serial):08d}")


def department_data(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {"name": "南昌县行政审批局", "short_name": "县审批局", "credit_code": uscc(),
                               "region_code": "", "active": "y"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def count(session: Session, model: type) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


# --- departments -----------------------------------------------------------------------------

def test_create_department_takes_the_region_from_the_credit_code(client: FlaskClient, session: Session,
                                                                  admin: User) -> None:
    code = uscc()
    response = post_form(client, "/admin/departments/new",
                         department_data(credit_code=code.lower(), is_service_center="y"))
    assert response.status_code == 302
    department = session.scalar(select(Department).where(Department.credit_code == code))
    assert department is not None and department.name == "南昌县行政审批局" and department.short_name == "县审批局"
    assert department.region_code == "360121" and department.is_service_center and department.active
    listing = text(client.get(response.headers["Location"]))
    assert "已保存部门 南昌县行政审批局" in listing and code in listing


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"credit_code": "12345"}, "credit_code", "统一社会信用代码应为18位，实际为5位"),
    ({"credit_code": "wrong-check-digit"}, "credit_code", "统一社会信用代码校验位错误"),
    ({"credit_code": "11360121ABCDEFGHIO"}, "credit_code", "统一社会信用代码含有非法字符：IO"),
    ({"region_code": "36A121"}, "region_code", "行政区划代码应为6位数字"),
    ({"name": ""}, "name", "请输入名称"),
    ({"short_name": "简" * 31}, "short_name", "简称不超过30个字"),
])
def test_department_errors_at_the_field(client: FlaskClient, session: Session, admin: User,
                                        changes: dict[str, object], field: str, message: str) -> None:
    if changes.get("credit_code") == "wrong-check-digit":
        good = uscc()
        changes = {"credit_code": good[:17] + ("0" if good[17] != "0" else "1")}
    before = count(session, Department)
    response = post_form(client, "/admin/departments/new", department_data(**changes))
    assert response.status_code == 200
    assert message in field_errors(text(response), field)
    assert count(session, Department) == before


def test_duplicate_credit_code_and_name_are_answered_at_the_field(client: FlaskClient, session: Session,
                                                                  admin: User) -> None:
    existing = factories.department(session, "已有的部门")
    same_code = post_form(client, "/admin/departments/new", department_data(credit_code=existing.credit_code))
    assert field_errors(text(same_code), "credit_code") == [
        f"统一社会信用代码 {existing.credit_code} 已被其他部门使用"]
    same_name = post_form(client, "/admin/departments/new", department_data(name="已有的部门"))
    assert field_errors(text(same_name), "name") == ["部门 已有的部门 已存在"]


def test_edit_department(client: FlaskClient, session: Session, admin: User) -> None:
    department = factories.department(session, "改名前的局")
    other = factories.department(session, "另一个局")
    path = f"/admin/departments/{department.id}"
    assert 'value="改名前的局"' in text(client.get(path))
    clash = post_form(client, path, department_data(name="另一个局", credit_code=department.credit_code))
    assert field_errors(text(clash), "name") == ["部门 另一个局 已存在"]
    keep_code = post_form(client, path, department_data(name="改名后的局", short_name="新简称",
                                                        credit_code=department.credit_code, region_code="360112"))
    assert keep_code.status_code == 302, "its own credit code is no duplicate"
    session.expire_all()
    department = session.get(Department, department.id)
    assert department.name == "改名后的局" and department.short_name == "新简称" and not department.is_service_center
    assert other.name == "另一个局"
    assert client.get("/admin/departments/999999").status_code == 404


def test_department_list_search_and_pages(client: FlaskClient, session: Session, admin: User) -> None:
    for n in range(52):
        factories.department(session, f"分页测试局{n:02d}")
    first = text(client.get("/admin/departments?q=分页测试"))
    assert "共 52 条" in first and "第 1 / 2 页" in first and "分页测试局00" in first
    assert "分页测试局51" in text(client.get("/admin/departments?q=分页测试&page=2"))


def test_department_form_needs_csrf(client: FlaskClient, session: Session, admin: User) -> None:
    before = count(session, Department)
    assert client.post("/admin/departments/new", data=department_data()).status_code == 400
    assert count(session, Department) == before


# --- service items ---------------------------------------------------------------------------

def item_data(owner: Department, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {"code": "360121-SP-0001", "name": "食品经营许可", "kind": "licensing",
                               "department": str(owner.id), "promised_days": "10", "active": "y"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_create_and_edit_item(client: FlaskClient, session: Session, admin: User) -> None:
    department = factories.department(session, "市场监督管理局")
    created = post_form(client, "/admin/items/new", item_data(department))
    assert created.status_code == 302
    item = session.scalar(select(ServiceItem).where(ServiceItem.code == "360121-SP-0001"))
    assert item is not None and item.kind is ItemKind.LICENSING and item.department_id == department.id
    assert item.promised_days == 10 and item.active
    listing = text(client.get(created.headers["Location"]))
    assert "食品经营许可" in listing and "行政许可" in listing and "10 个工作日" in listing
    path = f"/admin/items/{item.id}"
    form = text(client.get(path))
    assert 'value="360121-SP-0001"' in form and '<option selected value="licensing">' in form
    edited = post_form(client, path, item_data(department, name="食品经营许可（变更）", kind="public_service",
                                               promised_days="", active=None))
    assert edited.status_code == 302
    session.expire_all()
    item = session.get(ServiceItem, item.id)
    assert item.name == "食品经营许可（变更）" and item.kind is ItemKind.PUBLIC_SERVICE
    assert item.promised_days is None and not item.active
    assert client.get("/admin/items/999999").status_code == 404


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"code": "带中文的编码"}, "code", "事项编码只能包含字母、数字、“-”和“_”，1-64位"),
    ({"code": ""}, "code", "请输入事项编码"),
    ({"name": ""}, "name", "请输入事项名称"),
    ({"department": ""}, "department", "请选择办理部门"),
    ({"department": "999999"}, "department", "请从列表中选择"),
    ({"kind": "royal_decree"}, "kind", "请从列表中选择"),
    ({"promised_days": "0"}, "promised_days", "承诺时限应为1-365个工作日"),
    ({"promised_days": "abc"}, "promised_days", "承诺时限应为1-365个工作日"),
])
def test_item_errors_at_the_field(client: FlaskClient, session: Session, admin: User,
                                  changes: dict[str, object], field: str, message: str) -> None:
    department = factories.department(session)
    before = count(session, ServiceItem)
    response = post_form(client, "/admin/items/new", item_data(department, **changes))
    assert response.status_code == 200
    assert message in field_errors(text(response), field)
    assert count(session, ServiceItem) == before


def test_duplicate_item_code_is_answered_at_the_field(client: FlaskClient, session: Session, admin: User) -> None:
    department = factories.department(session)
    session.add(ServiceItem(code="DUP-001", name="已有事项", kind=ItemKind.OTHER, department=department))
    session.flush()
    response = post_form(client, "/admin/items/new", item_data(department, code="DUP-001"))
    assert response.status_code == 200
    assert field_errors(text(response), "code") == ["事项编码 DUP-001 已存在"]


def test_item_list_search_and_pages(client: FlaskClient, session: Session, admin: User) -> None:
    department = factories.department(session)
    session.add_all([ServiceItem(code=f"PAGE-{n:03d}", name=f"分页事项{n}", kind=ItemKind.OTHER, department=department)
                     for n in range(51)])
    session.flush()
    first = text(client.get("/admin/items?q=PAGE-"))
    assert "共 51 条" in first and "PAGE-000" in first and "PAGE-050" not in first
    assert "PAGE-050" in text(client.get("/admin/items?q=page-&page=2"))
    assert "共 1 条" in text(client.get("/admin/items?q=分页事项7"))


def test_item_form_needs_csrf(client: FlaskClient, session: Session, admin: User) -> None:
    department = factories.department(session)
    assert client.post("/admin/items/new", data=item_data(department)).status_code == 400
    assert session.scalar(select(ServiceItem).where(ServiceItem.code == "360121-SP-0001")) is None
