"""User accounts: creation, roles, password checks."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..models import DEPARTMENT_ROLES, Department, Role, User, UserRole

USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{2,63}$")
MIN_PASSWORD_LENGTH = 8
# Checked against when the username is unknown, so both cases cost the same time.
_DUMMY_HASH = generate_password_hash("not-a-password")


class AccountError(ValueError):
    """Invalid account data; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def validate_roles(roles: Iterable[Role], department: Department | None) -> frozenset[Role]:
    roles = frozenset(roles)
    if not roles:
        raise AccountError("roles", "至少需要一个角色")
    needs_department = sorted(r.label for r in roles & DEPARTMENT_ROLES)
    if needs_department and department is None:
        raise AccountError("department", f"{'、'.join(needs_department)}必须属于一个部门")
    return roles


def validate_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError("password", f"密码至少{MIN_PASSWORD_LENGTH}位")
    if password.isdigit() or password.isalpha():
        raise AccountError("password", "密码须同时包含字母和数字或符号")
    return password


def create_user(session: Session, *, username: str, display_name: str, password: str,
                roles: Iterable[Role], department: Department | None = None) -> User:
    username = username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise AccountError("username", "用户名须以小写字母开头，3-64位，仅含小写字母、数字和 . _ -")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AccountError("username", f"用户名 {username} 已存在")
    if not display_name.strip():
        raise AccountError("display_name", "姓名不能为空")
    validate_password(password)
    granted = validate_roles(roles, department)
    user = User(username=username, display_name=display_name.strip(),
                password_hash=generate_password_hash(password), department=department)
    user.role_grants = [UserRole(role=role) for role in sorted(granted, key=lambda r: r.value)]
    session.add(user)
    return user


def set_roles(user: User, roles: Iterable[Role]) -> None:
    granted = validate_roles(roles, user.department)
    user.role_grants = [g for g in user.role_grants if g.role in granted] + [
        UserRole(role=role) for role in sorted(granted - user.roles, key=lambda r: r.value)]


def set_password(user: User, password: str) -> None:
    user.password_hash = generate_password_hash(validate_password(password))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, or None. Records the login time."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    user.last_login_at = datetime.now(timezone.utc)
    return user
