from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from ..auth.access import roles_required
from ..extensions import db
from ..models import CaseStatus, Role
from ..services.case_diagram import diagram_for
from ..services.case_tasks import TaskError
from ..services.case_view import case_view
from ..services.verifier_queue import QueueError, claim_decision, queue
from . import bp
from .forms import ClaimForm
from .links import optional_url, viewer_installed


@bp.route("/cases/<case_no>")
@login_required
def show(case_no: str) -> str:
    view = case_view(db.session, current_user, case_no)
    if view is None:
        abort(404)
    can_urge = current_user.has_role(Role.SUPERVISOR) and view.case.status is CaseStatus.OPEN
    return render_template("cases/show.html", view=view, viewer_installed=viewer_installed(),
                           optional_url=optional_url, can_urge=can_urge)


@bp.route("/cases/<case_no>/diagram.json")
@login_required
def diagram(case_no: str) -> Response:
    data = diagram_for(db.session, current_user, case_no)
    if data is None:
        abort(404)
    return jsonify(data)


@bp.route("/verify")
@roles_required(Role.VERIFIER)
def verifier_queue() -> str:
    return render_template("cases/verifier_queue.html", entries=queue(db.session, current_user),
                           form=ClaimForm(), optional_url=optional_url)


@bp.route("/verify/<int:task_id>/claim", methods=["POST"])
@roles_required(Role.VERIFIER)
def verifier_claim(task_id: int) -> Response:
    if not ClaimForm().validate_on_submit():
        abort(400)
    try:
        claim_decision(db.session, current_user, task_id)
        db.session.commit()
    except QueueError:
        db.session.rollback()
        abort(404)
    except TaskError as refused:
        db.session.rollback()
        flash(f"无法认领：{refused}", "warning")
        return redirect(url_for(".verifier_queue"))
    flash("已认领，请填写审核意见。", "info")
    return redirect(optional_url("work.task", task_id=task_id) or url_for(".verifier_queue"))
