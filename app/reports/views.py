"""Report pages: figures with filters and charts, exports, monthly bulletins (page, PDF,
Excel, CSV, generation) and the hall's screen. Supervisors, auditors and administrators
see every department; a department lead sees their own (another one answers 404)."""

from __future__ import annotations

import io
import re

from flask import abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from workflows.clock import current_clock

from ..auth.access import roles_required
from ..extensions import db
from ..models import Bulletin, Role
from ..services import bulletin_pdf, bulletins, report_exports
from ..services.dashboard import dashboard as dashboard_data
from ..services.report_page import bulletin_charts, export_figures, filter_choices, report_page
from ..services.request_values import whole_number
from ..services.report_period import (ALL_DEPARTMENTS_ROLES, REPORT_ROLES, GroupBy, NotVisible, Period,
                                      ReportQueryError, department_scope)
from . import bp
from .forms import GenerateForm

BULLETIN_ROLES = ALL_DEPARTMENTS_ROLES
GENERATE_ROLES = (Role.SUPERVISOR, Role.ADMIN)
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


@bp.route("/reports")
@roles_required(*REPORT_ROLES)
def index() -> str | tuple[str, int]:
    try:
        page = report_page(db.session, current_user, request.args, current_clock().now())
    except NotVisible:
        abort(404)
    except ReportQueryError as error:
        return render_template("reports/index.html", page=None, errors=error.errors, args=request.args.to_dict(),
                               groups=list(GroupBy), departments=_choices(),
                               show_bulletins=current_user.has_role(*BULLETIN_ROLES)), 400
    return render_template("reports/index.html", page=page, errors={}, args=request.args.to_dict(), groups=list(GroupBy),
                           departments=page.departments, show_bulletins=current_user.has_role(*BULLETIN_ROLES))


def _choices() -> list[tuple[int, str]]:
    try:
        return filter_choices(db.session, current_user)
    except NotVisible:
        abort(404)


def _download(data: bytes, mimetype: str, name: str) -> Response:
    return send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name)


@bp.route("/reports/export.<fmt>")
@roles_required(*REPORT_ROLES)
def export(fmt: str) -> Response:
    if fmt not in ("xlsx", "csv"):
        abort(404)
    try:
        figures = export_figures(db.session, current_user, request.args, current_clock().now())
    except NotVisible:
        abort(404)
    except ReportQueryError as error:
        abort(400, description="；".join(error.errors.values()))
    tables = report_exports.report_tables(figures, figures.group.label)
    name = f"好差评统计_{figures.period.label.replace(' ', '')}_{figures.group.label}.{fmt}"
    if fmt == "xlsx":
        return _download(report_exports.xlsx(tables), report_exports.XLSX_TYPE, name)
    return _download(report_exports.csv_bytes(tables[0]), report_exports.CSV_TYPE, name)


@bp.route("/reports/bulletins")
@roles_required(*BULLETIN_ROLES)
def bulletin_list() -> str:
    form = GenerateForm() if current_user.has_role(*GENERATE_ROLES) else None
    return render_template("reports/bulletins.html", bulletins=bulletins.listing(db.session), form=form)


@bp.route("/reports/bulletins", methods=["POST"])
@roles_required(*GENERATE_ROLES)
def generate() -> str | Response | tuple[str, int]:
    form = GenerateForm()
    if not form.validate_on_submit():
        abort(400, description="表单已过期，请刷新页面后重试")
    text = (form.month.data or "").strip()
    error = None
    if not MONTH.fullmatch(text):
        error = "月份应为 YYYY-MM 格式，例如 2026-11"
    else:
        try:
            bulletin, created = bulletins.generate(db.session, Period.month(text), current_user.username,
                                                   regenerate=bool(form.regenerate.data))
            db.session.commit()
        except bulletins.BulletinError as refused:
            db.session.rollback()
            error = str(refused)
    if error is not None:
        form.month.errors = [error]
        return render_template("reports/bulletins.html", bulletins=bulletins.listing(db.session), form=form), 400
    flash(f"已生成{bulletin.content['title']}（第 {bulletin.revision} 版），并已列入向效能监督部门推送的队列。"
          if created else f"{text} 的通报已存在（第 {bulletin.revision} 版）；如需重新生成请勾选“重新生成”。", "info")
    return redirect(url_for("reports.bulletin", month=bulletin.month))


def _bulletin(month: str) -> Bulletin:
    if not MONTH.fullmatch(month):
        abort(404)
    number = request.args.get("revision", "")
    if number and whole_number(number) is None:
        abort(400, description="版本（revision）应为正整数")
    found = bulletins.revision(db.session, month, int(number)) if number else bulletins.latest(db.session, month)
    if found is None:
        abort(404)
    return found


@bp.route("/reports/bulletins/<month>")
@roles_required(*BULLETIN_ROLES)
def bulletin(month: str) -> str:
    found = _bulletin(month)
    return render_template("reports/bulletin.html", bulletin=found, content=found.content,
                           charts=bulletin_charts(found.content),
                           revisions=bulletins.revisions(db.session, month))


@bp.route("/reports/bulletins/<month>.<fmt>")
@roles_required(*BULLETIN_ROLES)
def bulletin_file(month: str, fmt: str) -> Response:
    found = _bulletin(month)
    name = f"{found.content['title']}_第{found.revision}版.{fmt}"
    if fmt == "pdf":
        return _download(bulletin_pdf.render(found), "application/pdf", name)
    tables = report_exports.bulletin_tables(found.content)
    if fmt == "xlsx":
        return _download(report_exports.xlsx(tables), report_exports.XLSX_TYPE, name)
    if fmt == "csv":  # the department ranking
        return _download(report_exports.csv_bytes(tables[1]), report_exports.CSV_TYPE, name)
    abort(404)


@bp.route("/reports/dashboard")
@roles_required(*REPORT_ROLES)
def dashboard() -> str:
    return render_template("reports/dashboard.html", data=_dashboard())


@bp.route("/reports/dashboard.json")
@roles_required(*REPORT_ROLES)
def dashboard_json() -> Response:
    return jsonify(_dashboard())


def _dashboard() -> dict:
    try:
        scope = department_scope(current_user)
    except NotVisible:
        abort(404)
    return dashboard_data(db.session, current_clock().now(), scope)
