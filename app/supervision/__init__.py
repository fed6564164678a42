"""The supervision board (效能监督) and the 督办 action."""

from flask import Blueprint

bp = Blueprint("supervision", __name__)

from . import views  # noqa: E402,F401  (registers the routes)
