"""Personal API tokens: a token acts as its user in the task API, with the same role and
department checks as the web UI. Shown once when created; only its SHA-256 is stored."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.clock import current_clock

from ..models import User, UserToken
from .bearer_secrets import new_secret, plausible, secret_hash, use_is_worth_recording

# Distinct from the source API keys' "hcp_", so neither kind is ever taken for the other.
TOKEN_PREFIX = "hcpu_"
MAX_NAME_LENGTH = 64
DEFAULT_NAME = "个人令牌"


class TokenError(ValueError):
    """A token request that cannot be done; the message says why, in one line."""


def create_token(session: Session, user: User, name: str = DEFAULT_NAME) -> tuple[UserToken, str]:
    """A new token of ``user``; the plaintext is returned once and never stored."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise TokenError(f"name: 令牌名称须为1-{MAX_NAME_LENGTH}个字符")
    if not user.active:
        raise TokenError(f"用户 {user.username} 已停用，不能创建令牌")
    token, prefix, digest = new_secret(TOKEN_PREFIX)
    record = UserToken(user=user, name=name, prefix=prefix, token_hash=digest, created_at=current_clock().now())
    session.add(record)
    session.flush()
    return record, token


def tokens_of(session: Session, user: User) -> Sequence[UserToken]:
    """All of the user's tokens, revoked ones included, newest first."""
    return session.scalars(select(UserToken).where(UserToken.user_id == user.id)
                           .order_by(UserToken.created_at.desc(), UserToken.id.desc())).all()


def revoke(session: Session, user: User, prefix: str) -> UserToken:
    """Revoke the user's token shown as ``prefix`` (revoking twice changes nothing)."""
    prefix = (prefix or "").strip().rstrip("…")
    matches = [t for t in tokens_of(session, user) if prefix and t.prefix.startswith(prefix)]
    if not matches:
        raise TokenError(f"用户 {user.username} 没有前缀为 {prefix} 的令牌")
    if len(matches) > 1:
        raise TokenError(f"前缀 {prefix} 对应多个令牌，请给出完整前缀")
    return _revoke(matches[0])


def revoke_by_id(session: Session, user: User, token_id: int) -> UserToken:
    """Revoke one of the user's tokens named by its id (the administration page)."""
    record = session.get(UserToken, token_id)
    if record is None or record.user_id != user.id:
        raise TokenError(f"用户 {user.username} 没有编号为 {token_id} 的令牌")
    return _revoke(record)


def _revoke(record: UserToken) -> UserToken:
    if record.revoked_at is None:
        record.revoked_at = current_clock().now()
    return record


def authenticate(session: Session, token: str) -> User | None:
    """The active user of this active token, or None (unknown, revoked, or user deactivated)."""
    if not plausible(token, TOKEN_PREFIX):
        return None
    record = session.scalar(select(UserToken).where(UserToken.token_hash == secret_hash(token)))
    if record is None or not record.active or not record.user.active:
        return None
    now = current_clock().now()
    if use_is_worth_recording(record.last_used_at, now):
        record.last_used_at = now
    return record.user
