"""The department handlers' desk: inboxes, task pages, comments and evidence files."""

from flask import Blueprint

bp = Blueprint("work", __name__)

from . import navigation, views  # noqa: E402,F401  (registers the routes and template helpers)
