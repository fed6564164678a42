"""``POST /api/v1/evaluations``: one rating, or ``{"evaluations": [...]}`` with up to 1,000."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from typing import Any

from flask import abort, current_app, jsonify, request
from werkzeug.wrappers import Response

from ..extensions import db, limiter
from ..services.intake import CONFLICT, CREATED, DUPLICATE, INVALID, MAX_BATCH, ingest, ingest_batch
from ..sqlite_writes import begins_write_itself
from . import bp
from .auth import require_api_key

MAX_BODY = 4 * 1024 * 1024  # a full batch of 1,000 ratings fits with room to spare
STATUS = {CREATED: 201, DUPLICATE: 200, INVALID: 422, CONFLICT: 409}


def _body() -> Any:
    request.max_content_length = MAX_BODY  # larger bodies: 413, before anything is read
    if not request.is_json:
        abort(415, description="请求体须为JSON（Content-Type: application/json）")
    body = request.get_json(silent=True)
    if body is None:
        abort(400, description="请求体不是有效的JSON")
    return body


@bp.post("/evaluations")
@begins_write_itself  # intake checks every rating before it takes the write lock
@limiter.limit(lambda: current_app.config["API_RATE_LIMIT"])
def post_evaluations() -> tuple[Response, int]:
    key = require_api_key()
    body = _body()
    now = datetime.now(timezone.utc)
    if isinstance(body, dict) and set(body) == {"evaluations"}:
        items = body["evaluations"]
        if not isinstance(items, list) or not items:
            return jsonify({"errors": {"evaluations": "须为非空数组"}}), 422
        if len(items) > MAX_BATCH:
            return jsonify({"errors": {"evaluations": f"每批最多{MAX_BATCH}条"}}), 413
        outcomes = ingest_batch(db.session, key, items, now)
        db.session.commit()
        summary = Counter(outcome.status for outcome in outcomes)
        return jsonify({"results": [o.as_json() for o in outcomes],
                        "summary": {status: summary.get(status, 0) for status in STATUS}}), 200
    outcome = ingest(db.session, key, body, now)
    db.session.commit()
    return jsonify(outcome.as_json()), STATUS[outcome.status]
