"""Departments and service items: lists with search, create, edit."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ..extensions import db
from ..models import Department, ItemKind, ServiceItem
from ..services import department_admin, item_admin
from ..services.account_admin import departments_for_choice
from ..services.admin_lists import FieldError, ListQuery
from . import bp
from .forms import DepartmentForm, ItemForm, department_choices


def _show_error(form: DepartmentForm | ItemForm, error: FieldError) -> None:
    field = getattr(form, error.field)
    field.errors = [*field.errors, error.message]


# --- departments -----------------------------------------------------------------------------

@bp.route("/departments")
def departments() -> str:
    query = ListQuery.parse(request.args)
    return render_template("admin/departments.html", query=query,
                           page=department_admin.departments_page(db.session, query))


def _department_data(form: DepartmentForm) -> department_admin.DepartmentData:
    return department_admin.DepartmentData(
        name=form.name.data or "", short_name=form.short_name.data or "", credit_code=form.credit_code.data or "",
        region_code=form.region_code.data, is_service_center=bool(form.is_service_center.data),
        active=bool(form.active.data))


@bp.route("/departments/new", methods=["GET", "POST"])
@bp.route("/departments/<int:department_id>", methods=["GET", "POST"])
def edit_department(department_id: int | None = None) -> str | Response:
    department = db.session.get(Department, department_id) if department_id is not None else None
    if department_id is not None and department is None:
        abort(404)
    form = DepartmentForm(obj=department)
    if form.validate_on_submit():
        try:
            if department is None:
                department = department_admin.create_department(db.session, _department_data(form))
            else:
                department_admin.update_department(db.session, department, _department_data(form))
        except FieldError as error:  # checked before anything changed
            _show_error(form, error)
        else:
            db.session.commit()
            flash(f"已保存部门 {department.name}。", "success")
            return redirect(url_for("admin.departments", q=department.credit_code))
    return render_template("admin/department_edit.html", form=form, department=department)


# --- service items ---------------------------------------------------------------------------

@bp.route("/items")
def items() -> str:
    query = ListQuery.parse(request.args)
    return render_template("admin/items.html", query=query, page=item_admin.items_page(db.session, query))


def _item_data(form: ItemForm) -> item_admin.ItemData:
    department = db.session.get(Department, int(form.department.data)) if form.department.data else None
    days = form.promised_days.data
    return item_admin.ItemData(code=form.code.data or "", name=form.name.data or "", kind=ItemKind(form.kind.data),
                               department=department, promised_days=int(days) if days else None,
                               active=bool(form.active.data))


@bp.route("/items/new", methods=["GET", "POST"])
@bp.route("/items/<int:item_id>", methods=["GET", "POST"])
def edit_item(item_id: int | None = None) -> str | Response:
    item = db.session.get(ServiceItem, item_id) if item_id is not None else None
    if item_id is not None and item is None:
        abort(404)
    form = ItemForm()
    form.department.choices = department_choices(
        departments_for_choice(db.session, [item.department_id] if item else []), optional=False)
    if request.method == "GET" and item is not None:
        form.code.data, form.name.data, form.active.data = item.code, item.name, item.active
        form.kind.data, form.department.data = item.kind.value, str(item.department_id)
        form.promised_days.data = str(item.promised_days) if item.promised_days else ""
    if form.validate_on_submit():
        try:
            if item is None:
                item = item_admin.create_item(db.session, _item_data(form))
            else:
                item_admin.update_item(db.session, item, _item_data(form))
        except FieldError as error:  # checked before anything changed
            _show_error(form, error)
        else:
            db.session.commit()
            flash(f"已保存服务事项 {item.code}。", "success")
            return redirect(url_for("admin.items", q=item.code))
    return render_template("admin/item_edit.html", form=form, item=item)
