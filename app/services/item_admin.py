"""Service items (政务服务事项) as an administrator keeps them: code, name, kind, owning
department, promised time. A duplicate code is answered at the field."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from ..models import Department, ItemKind, ServiceItem
from .admin_lists import FieldError, ListQuery, Page, paginate

# The same alphabet the rating intake accepts for service_item_code.
CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
MAX_PROMISED_DAYS = 365


@dataclass
class ItemData:
    code: str
    name: str
    kind: ItemKind
    department: Department | None
    promised_days: int | None = None
    active: bool = True


def items_page(session: Session, query: ListQuery) -> Page[ServiceItem]:
    statement = select(ServiceItem).options(joinedload(ServiceItem.department)).order_by(ServiceItem.code)
    if query.q:
        like = query.pattern
        statement = statement.where(or_(ServiceItem.code.ilike(like, escape="\\"),
                                        ServiceItem.name.ilike(like, escape="\\")))
    return paginate(session, statement, query.page)


def _checked(session: Session, data: ItemData, item_id: int | None) -> ItemData:
    code = (data.code or "").strip()
    if not CODE_PATTERN.fullmatch(code):
        raise FieldError("code", "事项编码只能包含字母、数字、“-”和“_”，1-64位")
    name = (data.name or "").strip()
    if not name:
        raise FieldError("name", "事项名称不能为空")
    if len(name) > 200:
        raise FieldError("name", "事项名称不超过200个字")
    if data.department is None:
        raise FieldError("department", "请选择办理部门")
    if data.promised_days is not None and not 1 <= data.promised_days <= MAX_PROMISED_DAYS:
        raise FieldError("promised_days", f"承诺时限应为1-{MAX_PROMISED_DAYS}个工作日")
    same_code = select(ServiceItem.id).where(ServiceItem.code == code)
    if item_id is not None:
        same_code = same_code.where(ServiceItem.id != item_id)
    if session.scalar(same_code) is not None:
        raise FieldError("code", f"事项编码 {code} 已存在")
    return ItemData(code, name, data.kind, data.department, data.promised_days, data.active)


def _apply(item: ServiceItem, data: ItemData) -> None:
    assert data.department is not None  # checked
    item.code, item.name, item.kind = data.code, data.name, data.kind
    item.department, item.promised_days, item.active = data.department, data.promised_days, data.active


def _flush(session: Session, code: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise FieldError("code", f"事项编码 {code} 已存在") from None


def create_item(session: Session, data: ItemData) -> ServiceItem:
    checked = _checked(session, data, None)
    item = ServiceItem()
    _apply(item, checked)
    session.add(item)
    _flush(session, checked.code)
    return item


def update_item(session: Session, item: ServiceItem, data: ItemData) -> ServiceItem:
    checked = _checked(session, data, item.id)
    _apply(item, checked)
    _flush(session, checked.code)
    return item
