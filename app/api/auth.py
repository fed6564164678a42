"""API key authentication for the JSON API."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import abort, request

from ..extensions import db
from ..models import ApiKey
from ..services.api_keys import authenticate


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer …`` header, or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def require_api_key() -> ApiKey:
    """The active key named by ``Authorization: Bearer …``; 401 otherwise (the same answer
    for a missing, unknown or revoked key, so nothing is revealed)."""
    token = bearer_token()
    key = authenticate(db.session, token, datetime.now(timezone.utc)) if token else None
    if key is None:
        abort(401, description="需要有效的API密钥（Authorization: Bearer …）")
    return key
