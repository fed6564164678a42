"""Accounts: roles, departments, passwords, authentication."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from app.models import Role
from app.services.accounts import AccountError, authenticate, create_user, set_password, set_roles

from . import factories


def test_user_may_hold_several_roles(session: Session) -> None:
    dept = factories.department(session)
    user = factories.user(session, "lead.one", [Role.LEAD, Role.HANDLER], dept)
    assert user.roles == {Role.LEAD, Role.HANDLER}
    assert user.has_role(Role.HANDLER) and not user.has_role(Role.ADMIN)


@pytest.mark.parametrize("role", [Role.HANDLER, Role.LEAD])
def test_handlers_and_leads_must_belong_to_a_department(session: Session, role: Role) -> None:
    with pytest.raises(AccountError) as error:
        create_user(session, username="nodept", display_name="无部门", password="Abcdef-123", roles=[role])
    assert error.value.field == "department"
    assert f"{role.label}必须属于一个部门" in error.value.message


def test_roles_without_department_are_fine(session: Session) -> None:
    user = factories.user(session, "audit.one", [Role.AUDITOR, Role.SUPERVISOR])
    assert user.department is None


@pytest.mark.parametrize(("field", "kwargs", "message"), [
    ("username", {"username": "X"}, "用户名须以小写字母开头"),
    ("username", {"username": "1abc"}, "用户名须以小写字母开头"),
    ("password", {"password": "short1"}, "密码至少8位"),
    ("password", {"password": "12345678"}, "密码须同时包含字母和数字或符号"),
    ("display_name", {"display_name": "  "}, "姓名不能为空"),
    ("roles", {"roles": []}, "至少需要一个角色"),
])
def test_bad_account_data_names_the_field(session: Session, field: str, kwargs: dict, message: str) -> None:
    values = {"username": "good.name", "display_name": "张三", "password": "Abcdef-123", "roles": [Role.AUDITOR]}
    values.update(kwargs)
    with pytest.raises(AccountError) as error:
        create_user(session, **values)
    assert error.value.field == field
    assert error.value.message.startswith(message)


def test_duplicate_username_is_refused(session: Session) -> None:
    factories.user(session, "same.name", [Role.AUDITOR])
    with pytest.raises(AccountError, match="用户名 same.name 已存在"):
        factories.user(session, "Same.Name", [Role.AUDITOR])


def test_password_is_stored_hashed(session: Session) -> None:
    user = factories.user(session, "hash.check", [Role.AUDITOR])
    assert factories.PASSWORD not in user.password_hash
    assert user.password_hash.startswith(("scrypt:", "pbkdf2:"))


def test_authenticate(session: Session) -> None:
    user = factories.user(session, "login.check", [Role.AUDITOR])
    assert authenticate(session, "login.check", factories.PASSWORD) is user
    assert user.last_login_at is not None
    assert authenticate(session, " LOGIN.check ", factories.PASSWORD) is user
    assert authenticate(session, "login.check", "wrong-password-1") is None
    assert authenticate(session, "nobody.here", factories.PASSWORD) is None
    user.active = False
    assert authenticate(session, "login.check", factories.PASSWORD) is None


def test_set_roles_and_password(session: Session) -> None:
    dept = factories.department(session)
    user = factories.user(session, "change.me", [Role.HANDLER], dept)
    set_roles(user, [Role.LEAD, Role.VERIFIER])
    session.flush()
    assert user.roles == {Role.LEAD, Role.VERIFIER}
    set_password(user, "New-password-9")
    assert authenticate(session, "change.me", "New-password-9") is user
    user.department = None
    with pytest.raises(AccountError, match="department"):
        set_roles(user, [Role.HANDLER])
