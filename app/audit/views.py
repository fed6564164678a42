from __future__ import annotations

import json

from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from workflows.clock import current_clock

from ..auth.access import roles_required
from ..auth.audit import audit
from ..extensions import db
from ..models import Case, Role
from ..services import audit_log
from ..services.audit_view import audit_case
from ..services.case_access import can_view_case
from ..services.case_file import case_file
from ..services.case_file_pdf import render_case_file
from ..services.case_replay import replay_case
from ..services.history_chain import verify_case
from . import bp
from .forms import ExportForm, VerifyForm

READERS = (Role.AUDITOR, Role.SUPERVISOR)


def _case_or_404(case_no: str) -> Case:
    case = db.session.scalar(select(Case).where(Case.case_no == case_no))
    if case is None or not can_view_case(db.session, current_user, case):
        abort(404)
    return case


@bp.route("/")
@roles_required(*READERS)
def index() -> str | Response:
    wanted = (request.args.get("case_no") or "").strip()
    if wanted:
        if len(wanted) <= 32 and db.session.scalar(select(Case.id).where(Case.case_no == wanted)):
            return redirect(url_for("audit.case", case_no=wanted))
        flash(f"没有案件 {wanted[:32]}", "warning")
    return render_template("audit/index.html", wanted=wanted)


@bp.route("/log")
@roles_required(*READERS)
def log() -> str:
    error = None
    try:
        query = audit_log.AuditQuery.parse(request.args)
    except audit_log.AuditQueryError as problem:
        error, query = problem, audit_log.AuditQuery()
    return render_template("audit/log.html", query=query, error=error, actions=audit_log.ACTIONS,
                           page=audit_log.search(db.session, query))


@bp.route("/cases/<case_no>")
@roles_required(*READERS)
def case(case_no: str) -> str:
    found = _case_or_404(case_no)
    return render_template("audit/case.html", audit=audit_case(db.session, found), verify_form=VerifyForm(),
                           export_form=ExportForm(formdata=None), may_unmask=current_user.has_role(Role.AUDITOR))


@bp.route("/cases/<case_no>/replay.json")
@roles_required(*READERS)
def replay_json(case_no: str) -> Response:
    return jsonify(audit_case(db.session, _case_or_404(case_no)).diagrams(db.session))


@bp.route("/cases/<case_no>/verify", methods=["POST"])
@roles_required(*READERS)
def verify(case_no: str) -> Response:
    found = _case_or_404(case_no)
    if not VerifyForm().validate_on_submit():
        abort(400)
    chain, replay = verify_case(db.session, found), replay_case(db.session, found)
    audit("audit_verified", target=found.case_no, detail={"chain_intact": chain.intact,
                                                          "consistent": replay.consistent})
    db.session.commit()
    flash(chain.describe(), "info" if chain.intact else "warning")
    flash("重演核验：" + replay.describe(), "info" if replay.consistent else "warning")
    return redirect(url_for("audit.case", case_no=found.case_no))


@bp.route("/cases/<case_no>/export", methods=["POST"])
@roles_required(*READERS)
def export(case_no: str) -> Response | str:
    found = _case_or_404(case_no)
    form = ExportForm()
    if form.unmask.data and not current_user.has_role(Role.AUDITOR):
        abort(403)
    if not form.validate_on_submit():
        return render_template("audit/case.html", audit=audit_case(db.session, found), verify_form=VerifyForm(),
                               export_form=form, may_unmask=current_user.has_role(Role.AUDITOR)), 422
    data = case_file(db.session, found, current_clock().now(), unmask=bool(form.unmask.data))
    audit("case_exported", target=found.case_no, detail={"format": form.format.data, "unmasked": bool(form.unmask.data),
                                                         "reason": (form.reason.data or "").strip() or None})
    db.session.commit()
    name = f"案卷-{found.case_no}"
    if form.format.data == "json":
        body = json.dumps(data, ensure_ascii=False, indent=2)
        return Response(body, mimetype="application/json",
                        headers=_attachment(f"{name}.json"))
    return Response(render_case_file(data), mimetype="application/pdf", headers=_attachment(f"{name}.pdf"))


def _attachment(filename: str) -> dict[str, str]:
    from urllib.parse import quote

    return {"Content-Disposition": f"attachment; filename=\"case.{filename.rsplit('.', 1)[1]}\"; "
                                   f"filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "no-store"}
