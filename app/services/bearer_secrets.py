"""What source API keys and personal user tokens share: 256 random bits behind a type
prefix, a short display prefix kept to recognise them, and only their SHA-256 stored
(the secret is random, so a fast hash is enough)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

DISPLAY_PREFIX_LENGTH = 12
MAX_TOKEN_LENGTH = 100
# last_used_at is written at most this often, so a busy client costs no write per request.
USE_RECORDING_INTERVAL = timedelta(minutes=1)


def new_secret(type_prefix: str) -> tuple[str, str, str]:
    """A new token: (token, display prefix, hash). The token itself is never stored."""
    token = type_prefix + secrets.token_urlsafe(32)
    return token, token[:DISPLAY_PREFIX_LENGTH], secret_hash(token)


def secret_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def plausible(token: str, type_prefix: str) -> bool:
    """Worth a database lookup: the right type prefix and a sane length."""
    return token.startswith(type_prefix) and len(token) <= MAX_TOKEN_LENGTH


def use_is_worth_recording(last_used_at: datetime | None, now: datetime) -> bool:
    return last_used_at is None or now - last_used_at > USE_RECORDING_INTERVAL
