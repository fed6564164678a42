from __future__ import annotations

from flask import current_app, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from ..services.inbox_query import WORK_ROLES
from . import bp


@bp.route("/")
@login_required
def home() -> str | Response:
    if current_user.has_role(*WORK_ROLES) and "work.inbox" in current_app.view_functions:  # they start there
        return redirect(url_for("work.inbox"))
    return render_template("main/home.html", user=current_user)


@bp.route("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    """Liveness for a load balancer: the process answers. Touches no database."""
    return {"status": "ok"}, 200
