"""Personal-token authentication for the task API: ``Authorization: Bearer hcpu_…`` acts as
the token's user, who then meets the same role and department checks as in the web UI."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, current_app, g, jsonify, request
from sqlalchemy.exc import OperationalError

from ..errors import MESSAGES
from ..extensions import db
from ..services.user_tokens import authenticate
from ..sqlite_writes import READ_ONLY_METHODS
from .auth import bearer_token

F = TypeVar("F", bound=Callable[..., Any])

UNAUTHORIZED_DETAIL = "需要有效的个人令牌（Authorization: Bearer …）"


def _refuse(token_given: bool) -> None:
    """401 with the JSON error body of errors.py; the same answer for a missing, unknown or
    revoked token and for a deactivated user, so nothing is revealed."""
    response = jsonify({"error": {"status": 401, "message": MESSAGES[401], "detail": UNAUTHORIZED_DETAIL}})
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="hcp"' + (', error="invalid_token"' if token_given else "")
    abort(response)


def _record_use() -> None:
    """Keep the token's last-used time (written at most once a minute). A changing request
    commits it with its own change, in the transaction that holds SQLite's write lock from
    its start; a read-only one commits it now, best effort: a read that meets a busy SQLite
    writer still gets its answer."""
    if not db.session.dirty or request.method not in READ_ONLY_METHODS:
        return
    try:
        db.session.commit()
    except OperationalError:
        db.session.rollback()
        # Expected under write load on SQLite (a read cannot become a write after another
        # writer committed); the next request of the token records it.
        current_app.logger.info("token last-use time not recorded this time: database busy")


def user_token_required(view: F) -> F:
    """Sets ``flask.g.api_user`` to the token's user, or answers 401."""

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        token = bearer_token()
        user = authenticate(db.session, token) if token else None
        if user is None:
            _refuse(token is not None)
        _record_use()
        g.api_user = user
        return view(*args, **kwargs)

    return cast(F, checked)
