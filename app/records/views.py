from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from workflows.clock import current_clock

from ..auth.access import roles_required
from ..auth.audit import audit
from ..extensions import db
from ..models import ApiKey, Role
from ..services import import_uploads, outbox_admin
from ..services.rating_import import PAPER_SOURCE
from ..services.request_values import whole_number
from . import bp
from .forms import ImportForm, RetryForm


@bp.route("/outbox")
@roles_required(Role.ADMIN)
def outbox() -> str:
    error = None
    try:
        wanted = outbox_admin.OutboxFilter.parse(request.args)
    except outbox_admin.OutboxQueryError as problem:
        error, wanted = problem, outbox_admin.OutboxFilter()
    return render_template("records/outbox.html", wanted=wanted, error=error, form=RetryForm(),
                           page=outbox_admin.outbox_page(db.session, wanted),
                           counts=outbox_admin.counts(db.session), states=outbox_admin.STATES,
                           kinds=outbox_admin.KINDS)


@bp.route("/outbox/retry", methods=["POST"])
@roles_required(Role.ADMIN)
def retry() -> Response:
    if not RetryForm().validate_on_submit():
        abort(400)
    raw = request.form.get("record_id")
    if raw is not None and whole_number(raw) is None:
        abort(400, "record_id 须为记录编号")
    count = outbox_admin.retry_now(db.session, current_clock().now(), int(raw) if raw else None)
    audit("outbox_retried", target=f"outbox {raw}" if raw else "all failing", detail={"rescheduled": count})
    db.session.commit()
    flash(f"已将{count}条失败记录排入下一次推送。" if count else "没有需要重试的失败记录。", "info")
    return redirect(url_for("records.outbox", state=outbox_admin.FAILING))


def _import_form() -> ImportForm:
    form = ImportForm()
    names = db.session.scalars(select(ApiKey.name).where(ApiKey.revoked_at.is_(None)).order_by(ApiKey.name)).all()
    form.source.choices = [(PAPER_SOURCE, f"{PAPER_SOURCE}（纸质评价，默认）")] + [
        (name, name) for name in names if name != PAPER_SOURCE]
    return form


@bp.route("/imports", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def imports() -> str:
    form, result = _import_form(), None
    if form.validate_on_submit():
        upload, username = form.file.data, current_user.username
        # The import commits chunk by chunk in sessions of its own: this request's
        # transaction (and, on SQLite, its write lock) must not be held meanwhile.
        db.session.close()
        try:
            result = import_uploads.import_upload(
                db.sessionmaker, upload.stream, upload.filename or "", form.source.data, form.dry_run.data,
                username, current_clock().now(), current_app.instance_path)
        except import_uploads.UploadRefused as refused:
            getattr(form, refused.field).errors.append(refused.message)
        else:
            counts = result.report.counts
            audit("ratings_imported", actor=username, target=result.filename[:200],
                  detail={"source": result.source, "dry_run": result.report.dry_run, **counts,
                          "cases_opened": result.report.cases_opened})
            db.session.commit()
    return render_template("records/imports.html", form=form, result=result)


@bp.route("/imports/reports/<name>.csv")
@roles_required(Role.ADMIN)
def import_report(name: str) -> Response:
    path = import_uploads.report_path(current_app.instance_path, name)
    if path is None:
        abort(404)
    return send_file(path, mimetype="text/csv", as_attachment=True, download_name="导入错误报告.csv")
