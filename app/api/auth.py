"""API key authentication for the JSON API."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import abort, request

from ..extensions import db
from ..services.api_keys import SourceKey, authenticate, record_use


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer …`` header, or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def require_api_key() -> SourceKey:
    """The active key named by ``Authorization: Bearer …``; 401 otherwise (the same answer
    for a missing, unknown or revoked key, so nothing is revealed)."""
    token = bearer_token()
    key = authenticate(db.session, token) if token else None
    if key is None:
        abort(401, description="需要有效的API密钥（Authorization: Bearer …）")
    # The check is a short read of its own, and the key's last use (once a minute) a short
    # write of its own: the change the request makes then begins afresh (with the write
    # lock on SQLite, taken by the service once the request's ratings are checked).
    db.session.commit()
    if record_use(db.session, key, datetime.now(timezone.utc)):
        db.session.commit()
    return key
