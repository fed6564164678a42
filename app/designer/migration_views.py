"""Comparing versions, and moving running cases to a newer one."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from ..auth.access import roles_required
from ..extensions import db
from ..models import Role
from ..services import instance_migration
from ..services.process_diff import diff_draft, diff_versions
from ..services.process_library import deployment_of
from ..services.request_values import whole_number
from . import bp
from .forms import MigrateForm
from .views import FILE_NAME, READERS, _draft


def _version(name: str) -> int:
    number = whole_number(request.args.get(name, ""))
    if number is None:
        abort(400, f"{name} 须为版本号")
    return number


@bp.route("/diff")
@roles_required(*READERS)
def diff() -> str:
    file_name = request.args.get("file", "")
    if not FILE_NAME.fullmatch(file_name):
        abort(400, "file 须为流程文件名，如 bad_review.bpmn")
    old, new = deployment_of(db.session, _version("old")), deployment_of(db.session, _version("new"))
    if old is None or new is None or (file_name not in old.bpmn_files and file_name not in new.bpmn_files):
        abort(404)
    return render_template("designer/diff.html", diff=diff_versions(db.session, file_name, old, new))


@bp.route("/drafts/<int:draft_id>/diff")
@roles_required(Role.DESIGNER)
def draft_diff(draft_id: int) -> str:
    draft = _draft(draft_id)
    return render_template("designer/diff.html", diff=diff_draft(db.session, draft), draft=draft)


@bp.route("/versions/<int:version>/migration")
@roles_required(Role.DESIGNER)
def migration(version: int) -> str:
    target = deployment_of(db.session, version)
    if target is None:
        abort(404)
    return render_template("designer/migration.html", plan=instance_migration.plan(db.session, target),
                           form=MigrateForm())


@bp.route("/versions/<int:version>/migration", methods=["POST"])
@roles_required(Role.DESIGNER)
def migrate(version: int) -> Response:
    target, form = deployment_of(db.session, version), MigrateForm()
    if target is None:
        abort(404)
    if not form.validate_on_submit():
        abort(400)
    if form.instance_id.data is not None:
        try:
            row = instance_migration.move(db.session, form.instance_id.data, target, current_user)
            db.session.commit()
            flash(f"案件 {row.business_key} 已迁移到版本 {version}", "info")
        except instance_migration.MoveRefused as refused:
            db.session.rollback()
            flash(f"不能迁移：{'；'.join(refused.reasons)}", "error")
    else:
        result = instance_migration.move_all(db.session, target, current_user)
        flash(f"已迁移 {len(result.moved)} 个案件到版本 {version}"
              + (f"；{len(result.refused)} 个不能迁移（原因见列表）" if result.refused else ""), "info")
    return redirect(url_for("designer.migration", version=version))
