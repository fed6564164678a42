"""Inbox filters saved by name: a user's own, plus those colleagues shared with the
user's department. Only the owner deletes one."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from workflows.clock import current_clock

from ..models import SavedFilter, User
from .inbox_query import InboxQuery

MAX_NAME = 50
MAX_PER_USER = 50


class SavedFilterError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def visible_filters(session: Session, user: User) -> list[SavedFilter]:
    """The user's own filters, then those shared with the user's department by others."""
    shared = (SavedFilter.shared_department_id == user.department_id) if user.department_id is not None \
        else None
    condition = or_(SavedFilter.owner_id == user.id, shared) if shared is not None \
        else SavedFilter.owner_id == user.id
    rows = session.scalars(select(SavedFilter).where(condition).options(joinedload(SavedFilter.owner))
                           .order_by(SavedFilter.name, SavedFilter.id))
    return sorted(rows, key=lambda f: (f.owner_id != user.id, f.name))


def save_filter(session: Session, user: User, name: str | None, query: InboxQuery, *,
                shared: bool) -> tuple[SavedFilter, bool]:
    """Save ``query``'s filters under ``name`` (replacing the user's own filter of that
    name); True when it is new."""
    name = (name or "").strip()
    if not name:
        raise SavedFilterError("name", "请填写筛选名称")
    if len(name) > MAX_NAME:
        raise SavedFilterError("name", f"筛选名称最多{MAX_NAME}字")
    if shared and user.department_id is None:
        raise SavedFilterError("shared", "没有所属部门，不能共享")
    existing = session.scalar(select(SavedFilter).where(SavedFilter.owner_id == user.id,
                                                        SavedFilter.name == name))
    department = user.department_id if shared else None
    params = {"tab": query.tab, **query.filters()}
    if existing is not None:
        existing.query, existing.shared_department_id = params, department
        return existing, False
    count = len(session.scalars(select(SavedFilter.id).where(SavedFilter.owner_id == user.id)).all())
    if count >= MAX_PER_USER:
        raise SavedFilterError("name", f"每人最多保存{MAX_PER_USER}个筛选，请先删除不用的")
    saved = SavedFilter(owner_id=user.id, name=name, shared_department_id=department, query=params,
                        created_at=current_clock().now())
    session.add(saved)
    session.flush()
    return saved, True


def delete_filter(session: Session, user: User, filter_id: int) -> bool:
    """Delete the user's own filter; False when there is no such filter of theirs."""
    saved = session.get(SavedFilter, filter_id)
    if saved is None or saved.owner_id != user.id:
        return False
    session.delete(saved)
    return True
