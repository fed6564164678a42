"""The desk's pages: inbox, task page, claim / unclaim / reassign, comments, evidence files.

Every view needs a signed-in user; a task or case the user may not see is a 404.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from ..extensions import csrf, db
from ..forms.dynamic import build_form_class
from ..models import User
from ..services import case_notes, evidence_store, task_work
from ..services.case_tasks import FormInvalid, TaskError
from ..services.inbox_page import inbox_screen
from ..services.inbox_query import InboxQueryError, parse_query
from ..services.saved_filters import SavedFilterError, delete_filter, save_filter
from . import bp
from .forms import ActionForm, CommentForm, EvidenceForm, ReassignForm, SavedFilterForm
from .navigation import INBOX_ROLES

UPLOAD_OVERHEAD = 64 * 1024  # multipart boundaries and the CSRF field around the file


def _user() -> User:
    return current_user._get_current_object()  # type: ignore[no-any-return]


def _back(default: str | None = None) -> str:
    """The ``next`` path the form came from (only a path on this site), else the inbox."""
    target = request.form.get("next") or request.args.get("next")
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return default or url_for("work.inbox")


def _require_inbox_role() -> User:
    user = _user()
    if not user.has_role(*INBOX_ROLES):
        abort(403)
    return user


# --- inbox ---------------------------------------------------------------------------------
@bp.get("/inbox")
@login_required
def inbox() -> tuple[str, int]:
    screen = inbox_screen(db.session, _require_inbox_role(), request.args)
    page = render_template("work/inbox.html", screen=screen, filter_form=SavedFilterForm())
    return page, 400 if screen.errors else 200


@bp.post("/inbox/filters")
@login_required
def save_inbox_filter() -> Response:
    user = _require_inbox_role()
    form = SavedFilterForm()
    try:
        query = parse_query(request.args, user)
        saved, created = save_filter(db.session, user, form.name.data, query, shared=form.shared.data)
    except (InboxQueryError, SavedFilterError) as error:
        db.session.rollback()
        flash(f"筛选未保存：{getattr(error, 'message', error)}", "warning")
        return redirect(url_for("work.inbox", **request.args))
    db.session.commit()
    flash(f"筛选「{saved.name}」已{'保存' if created else '更新'}", "info")
    return redirect(url_for("work.inbox", **saved.query))


@bp.post("/inbox/filters/<int:filter_id>/delete")
@login_required
def delete_inbox_filter(filter_id: int) -> Response:
    if not delete_filter(db.session, _require_inbox_role(), filter_id):
        abort(404)
    db.session.commit()
    flash("筛选已删除", "info")
    return redirect(_back())


# --- claim, unclaim, reassign ----------------------------------------------------------
def _task_action(task_id: int, action: Any, done: str) -> Response:
    try:
        task = action()
    except task_work.NotVisible:
        db.session.rollback()
        abort(404)
    except TaskError as error:
        db.session.rollback()
        flash(f"操作未完成：{error}", "warning")
        return redirect(_back())
    db.session.commit()
    flash(f"{done}：{task.name}", "info")
    return redirect(_back())


@bp.post("/tasks/<int:task_id>/claim")
@login_required
def claim(task_id: int) -> Response:
    return _task_action(task_id, lambda: task_work.claim(db.session, _user(), task_id), "已认领")


@bp.post("/tasks/<int:task_id>/unclaim")
@login_required
def unclaim(task_id: int) -> Response:
    return _task_action(task_id, lambda: task_work.unclaim(db.session, _user(), task_id), "已退回")


@bp.post("/tasks/<int:task_id>/reassign")
@login_required
def reassign(task_id: int) -> Response:
    try:  # a task the user may not see is not there, whatever the form says
        task_work.visible_task(db.session, _user(), task_id)
    except task_work.NotVisible:
        abort(404)
    form = ReassignForm()
    if not form.validate():
        flash("操作未完成：请选择转派对象", "warning")
        return redirect(_back())
    return _task_action(task_id, lambda: task_work.reassign(db.session, _user(), task_id, form.to.data), "已转派")


# --- the task page ---------------------------------------------------------------------------
def _task_page(task_id: int) -> task_work.TaskPage:
    try:
        return task_work.task_page(db.session, _user(), task_id)
    except task_work.NotVisible:
        abort(404)


def _render_task(page: task_work.TaskPage, form: Any, status: int = 200) -> tuple[str, int]:
    return render_template("work/task.html", page=page, form=form, action_form=ActionForm(),
                           comment_form=CommentForm(), evidence_form=EvidenceForm(),
                           max_upload=evidence_store.megabytes(current_app.config["EVIDENCE_MAX_BYTES"]),
                           allowed=evidence_store.ALLOWED_LIST), status


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def task(task_id: int) -> tuple[str, int] | Response:
    page = _task_page(task_id)
    form = build_form_class(page.definition)() if page.definition is not None else None
    if request.method == "GET":
        return _render_task(page, form)
    if form is None:
        abort(404)
    if page.task.status != "ready":
        flash(task_work.STALE_MESSAGE + "，您的提交未保存", "warning")
        return redirect(url_for("work.task", task_id=task_id))
    if not form.validate():
        return _render_task(page, form, 422)
    try:
        case = task_work.submit(db.session, _user(), task_id, form.submitted_data())
    except task_work.StaleTask:
        db.session.rollback()
        flash(task_work.STALE_MESSAGE + "，您的提交未保存", "warning")
        return redirect(url_for("work.task", task_id=task_id))
    except FormInvalid as invalid:
        db.session.rollback()
        for name, message in invalid.errors.items():
            (form[name].errors if name in form else form.form_errors).append(message)
        return _render_task(_task_page(task_id), form, 422)
    except TaskError as error:
        db.session.rollback()
        flash(f"未能提交：{error}", "warning")
        return redirect(url_for("work.task", task_id=task_id))
    db.session.commit()
    flash(f"「{page.task.name}」已提交", "info")
    following = task_work.next_task(db.session, _user(), case)
    return redirect(url_for("work.task", task_id=following.id) if following else url_for("work.inbox"))


@bp.post("/tasks/<int:task_id>/comments")
@login_required
def add_comment(task_id: int) -> Response:
    here = url_for("work.task", task_id=task_id)
    try:
        _task, case = task_work.visible_task(db.session, _user(), task_id)
        case_notes.add_comment(db.session, case, _user(), CommentForm().body.data)
    except task_work.NotVisible:
        abort(404)
    except (case_notes.NoteError, PermissionError) as error:
        db.session.rollback()
        flash(f"意见未保存：{getattr(error, 'message', error)}", "warning")
        return redirect(here)
    db.session.commit()
    flash("意见已添加", "info")
    return redirect(here + "#comments")


@bp.post("/tasks/<int:task_id>/evidence")
@login_required
@csrf.exempt  # checked below, once the larger upload limit is in place
def upload_evidence(task_id: int) -> Response:
    limit = current_app.config["EVIDENCE_MAX_BYTES"]
    here = url_for("work.task", task_id=task_id)
    try:
        task, case = task_work.visible_task(db.session, _user(), task_id)
    except task_work.NotVisible:
        abort(404)
    if request.content_length is not None and request.content_length > limit + UPLOAD_OVERHEAD:
        flash(f"材料未上传：文件过大：最大 {evidence_store.megabytes(limit)}", "warning")
        return redirect(here)
    request.max_content_length = limit + UPLOAD_OVERHEAD
    csrf.protect()
    upload = EvidenceForm().file.data
    try:
        if upload is None or not getattr(upload, "filename", None):
            raise case_notes.NoteError("file", "请选择要上传的文件")
        evidence = case_notes.attach_evidence(
            db.session, case, _user(), filename=upload.filename, stream=upload.stream,
            root=_evidence_root(), max_bytes=limit, task=task)
    except (case_notes.NoteError, PermissionError) as error:
        db.session.rollback()
        flash(f"材料未上传：{getattr(error, 'message', error)}", "warning")
        return redirect(here)
    db.session.commit()
    flash(f"材料「{evidence.filename}」已上传", "info")
    return redirect(here + "#evidence")


def _evidence_root() -> str:
    return os.path.join(current_app.instance_path, "evidence")


@bp.get("/evidence/<int:evidence_id>")
@login_required
def evidence(evidence_id: int) -> Response:
    found = case_notes.evidence_for_download(db.session, _user(), evidence_id)
    if found is None:
        abort(404)
    path = evidence_store.path_of(_evidence_root(), found.sha256)
    if not path.is_file():
        current_app.logger.error("evidence file %s of case %s is missing on disk", found.id, found.case_id)
        abort(404)
    response = send_file(path, mimetype=found.content_type, as_attachment=True,
                         download_name=found.filename, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
