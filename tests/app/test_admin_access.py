"""Who may use the administration pages: system administrators only. Every other role gets
403 on every page and every form post (nothing changes); anonymous visitors are sent to
the login page."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.models import Department, ItemKind, Role, ServiceItem, User
from app.services import user_tokens

from . import factories
from .admin_support import sign_in
from .conftest import csrf_token


@dataclass
class Targets:
    user: User
    department: Department
    item: ServiceItem
    token_id: int

    def pages(self) -> list[str]:
        return ["/admin/users", "/admin/users/new", f"/admin/users/{self.user.id}",
                "/admin/departments", "/admin/departments/new", f"/admin/departments/{self.department.id}",
                "/admin/items", "/admin/items/new", f"/admin/items/{self.item.id}"]

    def posts(self) -> list[str]:
        return ["/admin/users/new", f"/admin/users/{self.user.id}", f"/admin/users/{self.user.id}/password",
                f"/admin/users/{self.user.id}/tokens/{self.token_id}/revoke",
                "/admin/departments/new", f"/admin/departments/{self.department.id}",
                "/admin/items/new", f"/admin/items/{self.item.id}"]


@pytest.fixture
def targets(session: Session) -> Targets:
    department = factories.department(session, "访问控制测试局")
    user = factories.user(session, "target.user", [Role.HANDLER], department)
    item = ServiceItem(code="ACCESS-001", name="访问控制事项", kind=ItemKind.OTHER, department=department)
    session.add(item)
    token, _ = user_tokens.create_token(session, user)
    session.flush()
    return Targets(user, department, item, token.id)


# Every field any of the forms has, filled with valid values: a refused post must not be
# refused for bad input.
FORM = {"username": "sneaky.user", "display_name": "改掉", "roles": ["admin"], "active": "y",
        "password": "Sneaky-pass-1", "confirm": "Sneaky-pass-1", "name": "改掉的名称", "short_name": "改掉",
        "credit_code": "", "code": "SNEAKY-1", "kind": "other", "department": ""}


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN], ids=lambda r: r.value)
def test_other_roles_get_403_everywhere(client: FlaskClient, session: Session, targets: Targets, role: Role) -> None:
    dept = targets.department if role in (Role.HANDLER, Role.LEAD) else None
    factories.user(session, f"role.{role.value}", [role], dept)
    sign_in(client, f"role.{role.value}")
    for path in targets.pages():
        assert client.get(path).status_code == 403, path
    token = csrf_token(client, "/account/password")
    form = {**FORM, "department": str(targets.department.id), "credit_code": targets.department.credit_code}
    for path in targets.posts():
        assert client.post(path, data={**form, "csrf_token": token}).status_code == 403, path
    session.expire_all()
    assert targets.user.display_name == "用户target.user" and targets.user.roles == {Role.HANDLER}
    assert targets.department.name == "访问控制测试局" and targets.item.name == "访问控制事项"
    assert user_tokens.tokens_of(session, targets.user)[0].revoked_at is None
    assert session.query(User).filter_by(username="sneaky.user").first() is None


def test_anonymous_visitors_are_sent_to_login(client: FlaskClient, session: Session, targets: Targets) -> None:
    for path in targets.pages():
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?next="), path
    token = csrf_token(client, "/login")
    for path in targets.posts():
        response = client.post(path, data={**FORM, "csrf_token": token})
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), path
    session.expire_all()
    assert targets.user.display_name == "用户target.user"


def test_administrators_see_every_page(client: FlaskClient, session: Session, targets: Targets) -> None:
    factories.user(session, "admin.all", [Role.ADMIN, Role.AUDITOR])
    sign_in(client, "admin.all")
    for path in targets.pages():
        response = client.get(path)
        assert response.status_code == 200, path
        if not path.endswith(("/users", "/departments", "/items")):  # lists: a GET search form only
            assert 'name="csrf_token"' in response.get_data(as_text=True), path

