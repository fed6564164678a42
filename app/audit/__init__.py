"""The auditors' pages: a case's history replayed and verified, its file exported, and the
log of user actions (issue 8)."""

from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/audit")

from . import views  # noqa: E402,F401  (registers the routes)
