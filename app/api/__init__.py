"""The JSON API ``/api/v1`` for evaluation devices, portals and the provincial system.
Authenticated by API key (``Authorization: Bearer …``); no cookies, so no CSRF token."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from . import evaluations, openapi, tasks  # noqa: E402,F401  (registers the routes)
