"""Case pages: one case with its diagram and history, and the verifier queue."""

from flask import Blueprint

bp = Blueprint("cases", __name__)

from . import views  # noqa: E402,F401  (registers the routes)
