"""Departments as an administrator keeps them: name, short name, unified social credit code
(checked as the model checks it), region, service-centre flag, active. Duplicates of the
credit code or name are answered at the field."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..identifiers import InvalidCode, validate_uscc
from ..models import Department
from .admin_lists import FieldError, ListQuery, Page, paginate

REGION_PATTERN = re.compile(r"^[0-9]{6}$")


@dataclass
class DepartmentData:
    name: str
    short_name: str
    credit_code: str
    region_code: str | None  # blank: taken from the credit code (its characters 3-8)
    is_service_center: bool = False
    active: bool = True


def departments_page(session: Session, query: ListQuery) -> Page[Department]:
    statement = select(Department).order_by(Department.name)
    if query.q:
        like = query.pattern
        statement = statement.where(or_(Department.name.ilike(like, escape="\\"),
                                        Department.short_name.ilike(like, escape="\\"),
                                        Department.credit_code.ilike(like, escape="\\")))
    return paginate(session, statement, query.page)


def _text(field: str, label: str, value: str, limit: int) -> str:
    value = (value or "").strip()
    if not value:
        raise FieldError(field, f"{label}不能为空")
    if len(value) > limit:
        raise FieldError(field, f"{label}不超过{limit}个字")
    return value


def _checked(session: Session, data: DepartmentData, department_id: int | None) -> DepartmentData:
    name = _text("name", "名称", data.name, 100)
    short_name = _text("short_name", "简称", data.short_name, 30)
    try:
        credit_code = validate_uscc(data.credit_code)
    except InvalidCode as error:
        raise FieldError("credit_code", str(error)) from None
    region_code = (data.region_code or "").strip() or credit_code[2:8]
    if not REGION_PATTERN.match(region_code):
        raise FieldError("region_code", "行政区划代码应为6位数字")
    others = select(Department).where(Department.id != department_id) if department_id else select(Department)
    if session.scalar(others.where(Department.credit_code == credit_code)) is not None:
        raise FieldError("credit_code", f"统一社会信用代码 {credit_code} 已被其他部门使用")
    if session.scalar(others.where(Department.name == name)) is not None:
        raise FieldError("name", f"部门 {name} 已存在")
    return DepartmentData(name, short_name, credit_code, region_code, data.is_service_center, data.active)


def _apply(department: Department, data: DepartmentData) -> None:
    department.name, department.short_name = data.name, data.short_name
    department.credit_code, department.region_code = data.credit_code, data.region_code or ""
    department.is_service_center, department.active = data.is_service_center, data.active


def _flush(session: Session) -> None:
    """A duplicate written by a concurrent request meanwhile: answered at the field."""
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise FieldError("credit_code", "统一社会信用代码或名称已被其他部门使用") from None


def create_department(session: Session, data: DepartmentData) -> Department:
    checked = _checked(session, data, None)
    department = Department(credit_code=checked.credit_code)
    _apply(department, checked)
    session.add(department)
    _flush(session)
    return department


def update_department(session: Session, department: Department, data: DepartmentData) -> Department:
    checked = _checked(session, data, department.id)
    _apply(department, checked)
    _flush(session)
    return department
