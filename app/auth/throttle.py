"""Per-address limit on failed password posts (sign-in, password change), kept in the
Flask-Limiter storage (memory:// per process, or the shared RATE_LIMIT_STORAGE). Only
failures count, so an office behind one address signing in at nine is not throttled.
Checked by hand rather than by ``@limiter.limit``, so pages carry no rate-limit headers
and a 503's own Retry-After is left alone."""

from __future__ import annotations

import time

from flask import abort, current_app, make_response, render_template, request
from limits import RateLimitItem, parse_many

from ..errors import MESSAGES
from ..extensions import limiter

NAMESPACE = "password-failures"


def _limits() -> list[RateLimitItem]:
    return parse_many(str(current_app.config["LOGIN_RATE_LIMIT"]))


def _address() -> str:
    return request.remote_addr or "unknown"


def refuse_if_exceeded() -> None:
    """429 (with Retry-After) when this address has used up its failed attempts."""
    for item in _limits():
        if not limiter.limiter.test(item, NAMESPACE, _address()):
            reset_at, _ = limiter.limiter.get_window_stats(item, NAMESPACE, _address())
            response = make_response(render_template("error.html", status=429, message=MESSAGES[429],
                                                     detail="登录失败次数过多，请稍后再试"), 429)
            response.headers["Retry-After"] = str(max(1, int(reset_at - time.time()) + 1))
            abort(response)


def count_failure() -> None:
    for item in _limits():
        limiter.limiter.hit(item, NAMESPACE, _address())
