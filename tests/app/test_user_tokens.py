"""Personal API tokens: shown once, only hashed, acting as their user; revoked tokens,
deactivated users and source API keys refused (and user tokens refused as source keys)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from flask import Flask, Response, g, jsonify
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from app.api.user_auth import user_token_required
from app.models import Channel, Role
from app.services import user_tokens
from app.services.api_keys import create_key
from app.services.bearer_secrets import secret_hash
from workflows.clock import ManualClock

from . import factories



@user_token_required
def whoami() -> Response:
    """Stands in for a task API view behind the decorator."""
    return jsonify({"username": g.api_user.username})


def call(app: Flask, headers: dict[str, str] | None = None, method: str = "GET") -> Response:
    """The decorated view called in a request to /api/v1/…, as routing would call it."""
    with app.test_request_context("/api/v1/tasks", headers=headers or {}, method=method):
        try:
            return whoami()
        except HTTPException as refused:
            assert refused.response is not None
            return refused.response


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_token_is_shown_once_and_only_its_hash_kept(session: Session, clock: ManualClock) -> None:
    user = factories.user(session, "token.owner", [Role.AUDITOR])
    record, token = user_tokens.create_token(session, user, "手机")
    assert token.startswith("hcpu_") and len(token) >= 5 + 43  # 256 random bits
    assert record.prefix == token[:12] and record.name == "手机"
    assert record.token_hash == secret_hash(token) and token not in record.token_hash
    assert record.created_at == clock.now() and record.last_used_at is None
    _, other = user_tokens.create_token(session, user, "集成")
    assert other != token


@pytest.mark.parametrize("name", ["", "   ", "x" * 65])
def test_token_name_is_checked(session: Session, name: str) -> None:
    user = factories.user(session, "token.names", [Role.AUDITOR])
    with pytest.raises(user_tokens.TokenError, match="name: 令牌名称须为1-64个字符"):
        user_tokens.create_token(session, user, name)


def test_authenticate_records_use_at_most_once_a_minute(session: Session, clock: ManualClock) -> None:
    user = factories.user(session, "token.user", [Role.AUDITOR])
    record, token = user_tokens.create_token(session, user)
    assert user_tokens.authenticate(session, token) is user
    assert record.last_used_at == clock.now()
    first = clock.now()
    clock.advance(timedelta(seconds=30))
    assert user_tokens.authenticate(session, token) is user and record.last_used_at == first
    clock.advance(timedelta(minutes=1))
    assert user_tokens.authenticate(session, token) is user and record.last_used_at == clock.now()


def test_revoked_token_and_deactivated_user_are_refused(session: Session, clock: ManualClock) -> None:
    user = factories.user(session, "token.gone", [Role.AUDITOR])
    kept, kept_token = user_tokens.create_token(session, user, "kept")
    revoked, revoked_token = user_tokens.create_token(session, user, "revoked")
    assert user_tokens.revoke(session, user, revoked.prefix) is revoked
    assert revoked.revoked_at == clock.now()
    assert user_tokens.authenticate(session, revoked_token) is None
    assert user_tokens.authenticate(session, kept_token) is user
    user.active = False
    assert user_tokens.authenticate(session, kept_token) is None
    with pytest.raises(user_tokens.TokenError, match="已停用"):
        user_tokens.create_token(session, user)


def test_revoke_needs_a_known_prefix_of_that_user(session: Session) -> None:
    owner = factories.user(session, "token.a", [Role.AUDITOR])
    stranger = factories.user(session, "token.b", [Role.AUDITOR])
    record, _ = user_tokens.create_token(session, owner)
    with pytest.raises(user_tokens.TokenError, match="没有前缀为"):
        user_tokens.revoke(session, stranger, record.prefix)
    with pytest.raises(user_tokens.TokenError, match="没有前缀为"):
        user_tokens.revoke(session, owner, "")
    assert user_tokens.revoke(session, owner, record.prefix + "…") is record  # as `tokens` prints it


@pytest.mark.parametrize("token", ["", "hcpu_", "hcpu_not-a-real-token", "hcpu_" + "x" * 200, "Basic abc"])
def test_garbage_is_not_a_user(session: Session, token: str) -> None:
    assert user_tokens.authenticate(session, token) is None


def test_source_key_and_user_token_are_never_taken_for_each_other(session: Session) -> None:
    from app.services import api_keys

    user = factories.user(session, "token.cross", [Role.AUDITOR])
    _, source_key = create_key(session, "cross-device", Channel.WINDOW_DEVICE, "test",
                               datetime(2026, 9, 30, 2, 0, tzinfo=timezone.utc))
    _, user_token = user_tokens.create_token(session, user)
    assert user_tokens.authenticate(session, source_key) is None
    assert api_keys.authenticate(session, user_token) is None


def test_decorator_sets_the_api_user(app: Flask, session: Session, clock: ManualClock) -> None:
    user = factories.user(session, "token.web", [Role.AUDITOR])
    record, token = user_tokens.create_token(session, user)
    response = call(app, bearer(token))
    assert response.status_code == 200 and response.get_json() == {"username": "token.web"}
    assert record.last_used_at == clock.now()
    assert call(app, {"Authorization": f"bearer  {token} "}).status_code == 200


def test_last_use_is_committed_by_reads_and_left_to_the_view_by_changes(app: Flask, session: Session,
                                                                       clock: ManualClock) -> None:
    user = factories.user(session, "token.commit", [Role.AUDITOR])
    record, token = user_tokens.create_token(session, user)
    assert call(app, bearer(token)).status_code == 200
    assert record not in session.dirty and record.last_used_at == clock.now()
    clock.advance(timedelta(minutes=2))
    assert call(app, bearer(token), method="POST").status_code == 200
    assert record in session.dirty and record.last_used_at == clock.now()  # committed with the change


def test_decorator_refuses_with_401_and_bearer_challenge(app: Flask, session: Session) -> None:
    user = factories.user(session, "token.refused", [Role.AUDITOR])
    record, token = user_tokens.create_token(session, user)
    _, source_key = create_key(session, "refused-device", Channel.WINDOW_DEVICE, "test",
                               datetime(2026, 9, 30, 2, 0, tzinfo=timezone.utc))
    missing = call(app)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="hcp"'
    assert missing.get_json()["error"]["status"] == 401
    for header in (bearer(source_key), bearer("hcpu_wrong"), {"Authorization": f"Basic {token}"},
                   {"Authorization": token}):
        refused = call(app, header)
        assert refused.status_code == 401, header
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert "个人令牌" in refused.get_json()["error"]["detail"]
    user_tokens.revoke(session, user, record.prefix)
    assert call(app, bearer(token)).status_code == 401


def test_user_token_is_not_a_source_api_key(client: FlaskClient, session: Session) -> None:
    user = factories.user(session, "token.intake", [Role.AUDITOR])
    _, token = user_tokens.create_token(session, user)
    response = client.post("/api/v1/evaluations", json={}, headers=bearer(token))
    assert response.status_code == 401
