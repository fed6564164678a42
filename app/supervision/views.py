from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from ..auth.access import roles_required
from ..extensions import db
from ..models import Role
from ..services.case_view import visible_case
from ..services.request_values import whole_number
from ..services.supervision import MAX_MESSAGE_LENGTH, UrgeError, board as load_board, urge as urge_case
from . import bp
from .forms import UrgeForm


def _page() -> int:
    page = whole_number(request.args.get("page", "1"), 100_000)
    if page is None:
        abort(400, description="页码（page）必须是 1 到 100000 之间的整数")
    return page


@bp.route("/supervision")
@roles_required(Role.SUPERVISOR)
def board() -> str:
    return render_template("supervision/board.html", board=load_board(db.session, _page()))


@bp.route("/supervision/cases/<case_no>/urge", methods=["GET", "POST"])
@roles_required(Role.SUPERVISOR)
def urge(case_no: str) -> str | Response | tuple[str, int]:
    case = visible_case(db.session, current_user, case_no)
    if case is None:
        abort(404)
    form = UrgeForm()
    if form.validate_on_submit():
        try:
            urge_case(db.session, case, current_user, form.message.data)
            db.session.commit()
        except UrgeError as refused:
            db.session.rollback()
            (form.message.errors if refused.field == "message" else form.form_errors).append(str(refused))
            return render_template("supervision/urge.html", form=form, case=case, limit=MAX_MESSAGE_LENGTH), 400
        flash(f"已督办工单 {case.case_no}，已通知部门负责人。", "info")
        return redirect(url_for("cases.show", case_no=case.case_no))
    return render_template("supervision/urge.html", form=form, case=case, limit=MAX_MESSAGE_LENGTH)
