"""API keys of rating sources: created (shown once), checked on every API call, revoked."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import ApiKey, Channel

TOKEN_PREFIX = "hcp_"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
# last_used_at is written at most this often, so a busy device costs no write per request.
USE_RECORDING_INTERVAL = timedelta(minutes=1)


class ApiKeyError(ValueError):
    pass


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_key(session: Session, name: str, channel: Channel, created_by: str, now: datetime) -> tuple[ApiKey, str]:
    """A new key; the token is returned once and never stored."""
    name = name.strip().lower()
    if not NAME_PATTERN.match(name):
        raise ApiKeyError("--name: 2-64 characters, lower-case letters, digits and . _ - "
                          f"(got {name!r})")
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise ApiKeyError(f"--name: a key named {name} exists already")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, channel=channel, prefix=token[:12], key_hash=_hash(token),
                 created_by=created_by[:64], created_at=now)
    session.add(key)
    session.flush()
    return key, token


def authenticate(session: Session, token: str, now: datetime) -> ApiKey | None:
    """The active key with this token, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == _hash(token)))
    if key is None or not key.active:
        return None
    if key.last_used_at is None or now - key.last_used_at > USE_RECORDING_INTERVAL:
        key.last_used_at = now
    return key


def revoke(session: Session, name: str, now: datetime) -> ApiKey:
    key = session.scalar(select(ApiKey).where(ApiKey.name == name.strip().lower()))
    if key is None:
        raise ApiKeyError(f"no API key named {name}")
    if key.revoked_at is None:
        key.revoked_at = now
    return key
