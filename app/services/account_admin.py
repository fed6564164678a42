"""Accounts as an administrator manages them: search, create with contact details, edit
profile, department, roles and state, reset a password. Every check names its field."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import Department, Role, User
from .accounts import AccountError, create_user, set_password, set_roles, validate_roles
from .admin_lists import ListQuery, Page, paginate

EMAIL_PATTERN = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
PHONE_PATTERN = re.compile(r"^\+?[0-9][0-9-]{4,18}[0-9]$")
MAX_DISPLAY_NAME = 50


@dataclass
class Profile:
    """What an administrator may change about an account."""

    display_name: str
    email: str | None
    phone: str | None
    department: Department | None
    roles: frozenset[Role]
    active: bool = True


def validate_email(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if len(value) > 254 or not EMAIL_PATTERN.match(value):
        raise AccountError("email", "邮箱格式不正确")
    return value


def validate_phone(value: str | None) -> str | None:
    value = (value or "").strip().replace(" ", "")
    if not value:
        return None
    if len(value) > 20 or not PHONE_PATTERN.match(value):
        raise AccountError("phone", "电话号码只能包含数字和“-”，6-20位")
    return value


def users_page(session: Session, query: ListQuery) -> Page[User]:
    """Users whose username or name contains the search, by username."""
    statement = select(User).order_by(User.username)
    if query.q:
        statement = statement.where(or_(User.username.ilike(query.pattern, escape="\\"),
                                        User.display_name.ilike(query.pattern, escape="\\")))
    return paginate(session, statement, query.page)


def _checked(profile: Profile) -> Profile:
    display_name = profile.display_name.strip()
    if not display_name:
        raise AccountError("display_name", "姓名不能为空")
    if len(display_name) > MAX_DISPLAY_NAME:
        raise AccountError("display_name", f"姓名不超过{MAX_DISPLAY_NAME}个字")
    return Profile(display_name, validate_email(profile.email), validate_phone(profile.phone),
                   profile.department, validate_roles(profile.roles, profile.department), profile.active)


def _flush(session: Session, username: str) -> None:
    """A username taken by a concurrent request meanwhile: answered at the field."""
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise AccountError("username", f"用户名 {username} 已存在") from None


def create_account(session: Session, username: str, password: str, profile: Profile) -> User:
    checked = _checked(profile)
    user = create_user(session, username=username, display_name=checked.display_name, password=password,
                       roles=checked.roles, department=checked.department)
    user.email, user.phone, user.active = checked.email, checked.phone, checked.active
    _flush(session, user.username)
    return user


def update_account(session: Session, user: User, profile: Profile, acting: User) -> User:
    """Everything checked first, so a refused change leaves the account as it was."""
    checked = _checked(profile)
    if user.id == acting.id and Role.ADMIN not in checked.roles:
        raise AccountError("roles", "不能取消自己的系统管理员角色")
    if user.id == acting.id and not checked.active:
        raise AccountError("active", "不能停用自己的账户")
    user.display_name, user.email, user.phone = checked.display_name, checked.email, checked.phone
    user.department, user.active = checked.department, checked.active
    set_roles(user, checked.roles)
    session.flush()
    return user


def reset_password(user: User, password: str) -> None:
    """An administrator's reset; it also lifts a sign-in lock."""
    set_password(user, password)


def departments_for_choice(session: Session, keep: Iterable[int | None] = ()) -> list[Department]:
    """Active departments, plus any inactive one still in use by the account being edited."""
    kept = [i for i in keep if i is not None]
    condition = Department.active.is_(True)
    if kept:
        condition = or_(condition, Department.id.in_(kept))
    return list(session.scalars(select(Department).where(condition).order_by(Department.name)))
