"""Administration of what goes to and comes from outside: the outbox to the provincial
system (R11) and paper rating sheets (R3)."""

from flask import Blueprint

bp = Blueprint("records", __name__, url_prefix="/admin")

from . import views  # noqa: E402,F401  (registers the routes)
