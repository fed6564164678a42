from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.exc import DBAPIError
from werkzeug.wrappers import Response

from ..cases.links import optional_url
from ..extensions import db
from ..services.notifications import KIND_LABELS, list_for, mark_all_read, mark_read, unread_count
from ..services.request_values import whole_number
from . import bp
from .forms import ReadForm

PER_PAGE = 30


def _page() -> int:
    page = whole_number(request.args.get("page", "1"), 100_000)
    if page is None:
        abort(400, description="页码（page）必须是 1 到 100000 之间的整数")
    return page


@bp.route("/notifications")
@login_required
def index() -> str:
    page = _page()
    entries, total = list_for(db.session, current_user, page=page, per_page=PER_PAGE)
    return render_template("notifications/index.html", entries=entries, total=total, page=page,
                           pages=max((total + PER_PAGE - 1) // PER_PAGE, 1), form=ReadForm(),
                           unread=unread_count(db.session, current_user), kinds=KIND_LABELS,
                           optional_url=optional_url)


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
def read(notification_id: int) -> Response:
    if not ReadForm().validate_on_submit():
        abort(400)
    try:
        mark_read(db.session, current_user, notification_id)
    except LookupError:
        abort(404)
    db.session.commit()
    return redirect(url_for(".index"))


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
def read_all() -> Response:
    if not ReadForm().validate_on_submit():
        abort(400)
    count = mark_all_read(db.session, current_user)
    db.session.commit()
    flash(f"已将 {count} 条消息标为已读。", "info")
    return redirect(url_for(".index"))


@bp.app_template_global()
def unread_notifications() -> int | None:
    """The signed-in user's unread notifications, for the badge in the navigation."""
    if not current_user.is_authenticated:
        return None
    try:
        return unread_count(db.session, current_user._get_current_object())
    except DBAPIError:  # an error page about the database itself: no badge
        current_app.logger.warning("notification badge unavailable: database error")
        return None
