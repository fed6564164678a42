"""The library, version downloads, drafts: open, upload, edit (the modeler saves JSON), forms,
review and deployment. Designers change things; auditors and administrators read the library."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from flask import abort, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from workflows.validation import MAX_BPMN_BYTES

from ..auth.access import roles_required
from ..auth.audit import audit
from ..extensions import db
from ..forms.dynamic import build_form_class
from ..http_headers import CONTENT_SECURITY_POLICY
from ..models import ProcessDraft, Role
from ..services import process_drafts
from ..services.designer_page import editor_page
from ..services.process_deploy import deploy
from ..services.process_drafts import DraftError, StaleDraft
from ..services.process_library import library as library_entries
from ..services.process_library import version_file
from . import bp
from .forms import DraftActionForm, FormDefinitionForm, NewDraftForm, ReviewForm, UploadForm

READERS = (Role.DESIGNER, Role.AUDITOR, Role.ADMIN)
FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,95}\.bpmn")
STALE_MESSAGE = "该草稿刚被其他设计员修改，您的操作没有生效。请刷新页面后再试。"
# bpmn-js-properties-panel creates its two containers with these style attributes; the
# editor page allows exactly them (by hash), and no other inline style.
PANEL_STYLES = ("height: 100%", "flex: none; height: auto")
EDITOR_CSP = CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-hashes' " + " ".join(
    "'sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() + "'" for style in PANEL_STYLES))


@bp.route("/")
@roles_required(*READERS)
def library() -> str:
    return render_template("designer/library.html", entries=library_entries(db.session),
                           new_form=NewDraftForm(), upload_form=UploadForm(),
                           is_designer=current_user.has_role(Role.DESIGNER), max_kb=MAX_BPMN_BYTES // 1024)


@bp.route("/versions/<int:version>/files/<file_name>")
@roles_required(*READERS)
def download(version: int, file_name: str) -> Response:
    xml = version_file(db.session, version, file_name) if FILE_NAME.fullmatch(file_name) else None
    if xml is None:
        abort(404)
    stem = file_name.removesuffix(".bpmn")
    return Response(xml, mimetype="application/xml", headers={
        "Content-Disposition": f'attachment; filename="{stem}.v{version}.bpmn"'})


@bp.route("/drafts/new", methods=["POST"])
@roles_required(Role.DESIGNER)
def new_draft() -> Response:
    form = NewDraftForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        draft = process_drafts.open_draft(db.session, current_user, form.file_name.data or "", form.note.data or "")
    except DraftError as refused:
        flash(refused.message, "error")
        return redirect(url_for("designer.library"))
    db.session.commit()
    return redirect(url_for("designer.editor", draft_id=draft.id))


@bp.route("/drafts/upload", methods=["POST"])
@roles_required(Role.DESIGNER)
def upload() -> Response | tuple[str, int]:
    form = UploadForm()
    if not form.validate_on_submit():
        abort(400)
    upload = form.file.data
    content = upload.stream.read(MAX_BPMN_BYTES + 1) if upload else b""
    try:
        if not content:
            raise DraftError("请选择要上传的 .bpmn 文件", "file")
        draft = process_drafts.upload_draft(db.session, current_user, content, form.note.data or "")
    except DraftError as refused:
        db.session.rollback()
        form.file.errors = [refused.message]
        return render_template("designer/library.html", entries=library_entries(db.session),
                               new_form=NewDraftForm(), upload_form=form, is_designer=True,
                               max_kb=MAX_BPMN_BYTES // 1024), 422
    db.session.commit()
    flash(f"已上传为草稿 {draft.id}（{draft.file_name}）" + (f"，有 {len(draft.problems)} 个问题待改正"
                                                          if draft.problems else "，校验通过"), "info")
    return redirect(url_for("designer.editor", draft_id=draft.id))


def _draft(draft_id: int) -> ProcessDraft:
    draft = process_drafts.get_draft(db.session, draft_id)
    if draft is None:
        abort(404)
    return draft


@bp.route("/drafts/<int:draft_id>")
@roles_required(Role.DESIGNER)
def editor(draft_id: int, form_form: FormDefinitionForm | None = None) -> Response:
    draft = _draft(draft_id)
    response = make_response(render_template(
        "designer/editor.html", page=editor_page(db.session, draft, current_user), action_form=DraftActionForm(),
        review_form=ReviewForm(), form_form=form_form or FormDefinitionForm()))
    response.headers["Content-Security-Policy"] = EDITOR_CSP
    return response


@bp.route("/drafts/<int:draft_id>/xml")
@roles_required(Role.DESIGNER)
def draft_xml(draft_id: int) -> Response:
    draft = _draft(draft_id)
    return Response(draft.bpmn_xml, mimetype="application/xml", headers={
        "Content-Disposition": f'attachment; filename="{draft.file_name.removesuffix(".bpmn")}.draft{draft.id}.bpmn"'})


def _json_body() -> dict[str, Any] | None:
    """The request's JSON object (None: not one; answered with a JSON error, not an HTML page)."""
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None


NOT_JSON = "请求须为 JSON 对象"


def _revision(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@bp.route("/drafts/<int:draft_id>/save", methods=["POST"])
@roles_required(Role.DESIGNER)
def save(draft_id: int) -> tuple[Response, int]:
    draft, body = _draft(draft_id), _json_body()
    if body is None:
        return jsonify(error=NOT_JSON), 400
    xml, note = body.get("xml"), body.get("note")
    if not isinstance(xml, str) or (note is not None and not isinstance(note, str)):
        return jsonify(error="xml 须为字符串（BPMN 文件内容），note 须为字符串", field="xml"), 400
    try:
        problems = process_drafts.save_draft(db.session, draft, current_user, xml, _revision(body.get("revision")), note)
        db.session.commit()
    except StaleDraft as stale:
        db.session.rollback()
        return jsonify(error=stale.message, field=stale.field, stale=True), 409
    except StaleDataError:
        db.session.rollback()
        return jsonify(error=STALE_MESSAGE, field="revision", stale=True), 409
    except DraftError as refused:
        db.session.rollback()
        return jsonify(error=refused.message, field=refused.field,
                       problems=[p.as_dict() for p in refused.problems]), 422
    return jsonify(revision=draft.revision, state=draft.state.value, state_label=draft.state.label,
                   problems=[p.as_dict() for p in problems]), 200


@bp.route("/drafts/<int:draft_id>/forms", methods=["POST"])
@roles_required(Role.DESIGNER)
def save_form(draft_id: int) -> Response:
    draft, form = _draft(draft_id), FormDefinitionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        definition = process_drafts.save_form(db.session, draft, current_user, (form.name.data or "").strip(),
                                              form.definition.data or "", form.revision.data)
        db.session.commit()
    except (DraftError, StaleDataError) as refused:
        db.session.rollback()
        message = refused.message if isinstance(refused, DraftError) else STALE_MESSAGE
        field = refused.field if isinstance(refused, DraftError) and refused.field == "definition" else "name"
        getattr(form, field).errors = [message]
        response = editor(draft_id, form_form=form)
        response.status_code = 422
        return response
    flash(f"表单“{definition.title}”（{definition.name}）已保存到草稿", "info")
    return redirect(url_for("designer.editor", draft_id=draft.id, form=definition.name) + "#forms")


@bp.route("/drafts/<int:draft_id>/forms/preview", methods=["POST"])
@roles_required(Role.DESIGNER)
def preview_form(draft_id: int) -> tuple[Response | str, int]:
    _draft(draft_id)
    body = _json_body()
    if body is None:
        return jsonify(error=NOT_JSON), 400
    name, text = body.get("name"), body.get("definition")
    if not isinstance(name, str) or not isinstance(text, str):
        return jsonify(error="name 和 definition 须为字符串"), 400
    try:
        definition = process_drafts.parse_form_text(name.strip(), text)
    except DraftError as refused:
        return jsonify(error=refused.message), 422
    form = build_form_class(definition)(meta={"csrf": False}, formdata=None)
    return render_template("designer/_form_preview.html", definition=definition, form=form), 200


_ACTIONS = {"submit": (process_drafts.submit, "已提交审核：须由另一位流程设计员批准"),
            "withdraw": (process_drafts.withdraw, "已撤回审核，可继续编辑"),
            "discard": (process_drafts.discard, "草稿已放弃")}


@bp.route("/drafts/<int:draft_id>/<any(submit, withdraw, discard, approve, reject, deploy):action>",
          methods=["POST"])
@roles_required(Role.DESIGNER)
def act(draft_id: int, action: str) -> Response:
    draft = _draft(draft_id)
    form = ReviewForm() if action in ("approve", "reject") else DraftActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        if action in _ACTIONS:
            function, message = _ACTIONS[action]
            function(db.session, draft, current_user, form.revision.data)
        elif action == "deploy":
            version = deploy(db.session, draft, current_user, form.revision.data)
            audit("process_deployed", target=f"版本 {version.version}",
                  detail={"draft": draft.id, "process": draft.process_id, "sha256": version.sha256})
            message = f"已部署为版本 {version.version}：新案件从现在起使用它，运行中的案件仍按原版本办理"
        else:
            process_drafts.review(db.session, draft, current_user, action == "approve",
                                  form.comment.data or "", form.revision.data)
            if action == "approve":
                audit("process_approved", target=f"草稿 {draft.id}", detail={"process": draft.process_id,
                                                                            "comment": form.comment.data or ""})
            message = "已批准，可以部署" if action == "approve" else "已退回给作者修改"
        db.session.commit()
        flash(message, "info")
    except (DraftError, StaleDataError) as refused:
        db.session.rollback()
        flash(refused.message if isinstance(refused, DraftError) else STALE_MESSAGE, "error")
    return redirect(url_for("designer.editor", draft_id=draft_id))
