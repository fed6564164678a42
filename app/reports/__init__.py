"""Reports: figures for any period, the monthly bulletins, exports and the hall's screen."""

from flask import Blueprint

bp = Blueprint("reports", __name__)

from . import views  # noqa: E402,F401  (registers the routes)
