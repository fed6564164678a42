"""API key authentication for the JSON API."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import abort, request

from ..extensions import db
from ..models import ApiKey
from ..services.api_keys import authenticate


def require_api_key() -> ApiKey:
    """The active key named by ``Authorization: Bearer …``; 401 otherwise (the same answer
    for a missing, unknown or revoked key, so nothing is revealed)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    key = authenticate(db.session, token.strip(), datetime.now(timezone.utc)) \
        if scheme.lower() == "bearer" else None
    if key is None:
        abort(401, description="需要有效的API密钥（Authorization: Bearer …）")
    return key
