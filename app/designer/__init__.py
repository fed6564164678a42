"""The process designer: the library of process versions, the BPMN editor with validation,
four-eyes review and deployment, version diffs, and moving running cases to a new version."""

from flask import Blueprint

bp = Blueprint("designer", __name__, url_prefix="/designer")

from . import migration_views, views  # noqa: E402,F401  (registers the routes)
