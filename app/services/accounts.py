"""User accounts: creation, roles, password checks, sign-in with throttling, password change."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from workflows.clock import current_clock

from ..models import DEPARTMENT_ROLES, Department, Role, User, UserRole

USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{2,63}$")
MIN_PASSWORD_LENGTH = 8
# Consecutive wrong passwords that lock an account, and for how long.
MAX_FAILED_LOGINS = 5
LOCK_DURATION = timedelta(minutes=15)
# Checked against when the username is unknown, so both cases cost the same time.
_DUMMY_HASH = generate_password_hash("not-a-password")


class AccountError(ValueError):
    """Invalid account data; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class AccountLocked(Exception):
    """The account is locked after too many wrong passwords, until ``until`` (UTC)."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"locked until {until.isoformat()}")
        self.until = until


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
    """A new password (own change or an administrator's reset); lifts any lock."""
    user.password_hash = generate_password_hash(validate_password(password))
    user.password_changed_at = current_clock().now()
    user.failed_logins, user.locked_until = 0, None


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, or None; raises AccountLocked while
    the account is locked. Every wrong password of a known user counts; the fifth in a row
    locks the account for LOCK_DURATION (and starts the count afresh); a success resets it.
    An unknown username costs the same password check and gets the same None. The caller
    commits in every case, so failures are counted."""
    now = current_clock().now()
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if user.locked_until is not None and user.locked_until > now:
        check_password_hash(_DUMMY_HASH, password)
        raise AccountLocked(user.locked_until)
    if not check_password_hash(user.password_hash, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            # Until a whole minute, as the message shows it (请于 HH:MM 后再试).
            until = now + LOCK_DURATION
            user.failed_logins = 0
            user.locked_until = until.replace(second=0, microsecond=0) + (
                timedelta(minutes=1) if (until.second or until.microsecond) else timedelta())
            raise AccountLocked(user.locked_until)
        return None
    if not user.active:
        return None
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    return user


def change_password(user: User, current: str, new: str) -> None:
    """The user's own change: the current password must be right, the new one meet the
    policy and differ from it."""
    if not check_password_hash(user.password_hash, current):
        raise AccountError("current_password", "当前密码不正确")
    validate_password(new)
    if new == current:
        raise AccountError("password", "新密码不能与当前密码相同")
    set_password(user, new)
