"""API keys of rating sources: created (shown once), checked on every API call, revoked."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import ApiKey, Channel
from .bearer_secrets import new_secret, plausible, secret_hash, use_is_worth_recording

TOKEN_PREFIX = "hcp_"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class ApiKeyError(ValueError):
    pass


def create_key(session: Session, name: str, channel: Channel, created_by: str, now: datetime) -> tuple[ApiKey, str]:
    """A new key; the token is returned once and never stored."""
    name = name.strip().lower()
    if not NAME_PATTERN.match(name):
        raise ApiKeyError("--name: 2-64 characters, lower-case letters, digits and . _ - "
                          f"(got {name!r})")
    if session.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
        raise ApiKeyError(f"--name: a key named {name} exists already")
    token, prefix, digest = new_secret(TOKEN_PREFIX)
    key = ApiKey(name=name, channel=channel, prefix=prefix, key_hash=digest,
                 created_by=created_by[:64], created_at=now)
    session.add(key)
    session.flush()
    return key, token


def authenticate(session: Session, token: str, now: datetime) -> ApiKey | None:
    """The active key with this token, or None."""
    if not plausible(token, TOKEN_PREFIX):
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == secret_hash(token)))
    if key is None or not key.active:
        return None
    if use_is_worth_recording(key.last_used_at, now):
        key.last_used_at = now
    return key


def revoke(session: Session, name: str, now: datetime) -> ApiKey:
    key = session.scalar(select(ApiKey).where(ApiKey.name == name.strip().lower()))
    if key is None:
        raise ApiKeyError(f"no API key named {name}")
    if key.revoked_at is None:
        key.revoked_at = now
    return key
