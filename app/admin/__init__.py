"""Administration of users, departments and service items: system administrators only
(anonymous visitors go to the login page, other signed-in users get 403)."""

from flask import Blueprint, abort
from flask_login import current_user
from werkzeug.wrappers import Response

from ..extensions import login_manager
from ..models import Role

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def _administrators_only() -> Response | None:
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.has_role(Role.ADMIN):
        abort(403)
    return None


from . import directory_views, user_views  # noqa: E402,F401  (registers the routes)
