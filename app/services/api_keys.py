"""API keys of rating sources: created (shown once), checked on every API call, revoked."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from workflows.clock import current_clock

from ..models import ApiKey, Channel
from ..sqlite_writes import begin_write
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


@dataclass(frozen=True)
class SourceKey:
    """An authenticated key, as a request needs it: the source that speaks (its ``name`` is
    the ``source`` of the ratings it sends) and when its use was last noted."""

    id: int
    name: str
    channel: Channel
    last_used_at: datetime | None
    key_hash: str


_BY_HASH = select(ApiKey.id, ApiKey.name, ApiKey.channel, ApiKey.last_used_at).where(
    ApiKey.key_hash == bindparam("key_hash"), ApiKey.revoked_at.is_(None))
# A key found active is taken as active for this long without asking the database again (a
# source sending hundreds of ratings a second costs no lookup each); a key revoked by
# another process is refused by this one at the latest that much later.
RECHECK_AFTER = timedelta(seconds=1)
_checked: dict[tuple[str, str], tuple[SourceKey, datetime]] = {}  # (database, hash) -> key, when checked


def _cache_key(session: Session, key_hash: str) -> tuple[str, str]:
    return str(session.get_bind().engine.url), key_hash


def authenticate(session: Session, token: str) -> SourceKey | None:
    """The active key with this token, or None (unknown or revoked alike). Reads only, one
    plain row, at most once a second per key and process (see :data:`RECHECK_AFTER`);
    :func:`record_use` notes the last use."""
    if not plausible(token, TOKEN_PREFIX):
        return None
    cache_key, now = _cache_key(session, secret_hash(token)), current_clock().now()
    known = _checked.get(cache_key)
    if known is not None and now - known[1] < RECHECK_AFTER:
        return known[0]
    row = session.connection().execute(_BY_HASH, {"key_hash": cache_key[1]}).one_or_none()
    if row is None:
        _checked.pop(cache_key, None)
        return None
    if len(_checked) > 10_000:  # keys are few; this only bounds a process that met many databases
        _checked.clear()
    key = SourceKey(*row, key_hash=cache_key[1])
    _checked[cache_key] = (key, now)
    return key


def record_use(session: Session, key: SourceKey, now: datetime) -> bool:
    """Note the key's last use, at most once a minute (a busy source costs no write per
    request). Begins the session's transaction with the write lock on SQLite, so call it
    with no transaction open; the caller commits. True when there is something to commit."""
    if not use_is_worth_recording(key.last_used_at, now):
        return False
    begin_write(session)
    session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
    cache_key = _cache_key(session, key.key_hash)
    if cache_key in _checked:
        _checked[cache_key] = (replace(key, last_used_at=now), _checked[cache_key][1])
    return True


def revoke(session: Session, name: str, now: datetime) -> ApiKey:
    key = session.scalar(select(ApiKey).where(ApiKey.name == name.strip().lower()))
    if key is None:
        raise ApiKeyError(f"no API key named {name}")
    if key.revoked_at is None:
        key.revoked_at = now
    _checked.pop(_cache_key(session, key.key_hash), None)  # this process refuses it at once
    return key
