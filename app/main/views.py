from __future__ import annotations

from flask import render_template
from flask_login import current_user, login_required

from . import bp


@bp.route("/")
@login_required
def home() -> str:
    return render_template("main/home.html", user=current_user)


@bp.route("/healthz")
def healthz() -> tuple[dict[str, str], int]:
    """Liveness for a load balancer: the process answers. Touches no database."""
    return {"status": "ok"}, 200
