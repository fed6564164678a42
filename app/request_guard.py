"""What a request may carry, refused before any view sees it.

- NUL characters. PostgreSQL text cannot hold U+0000, so a search, a name or a login
  carrying one would fail inside the database and answer 500. No field of this system has a
  use for it: a request with one in its path, its query string or its URL-encoded form is
  answered 400 naming where. (JSON and multipart bodies are read by their views under their
  own size limits, and their text fields are checked there: intake, task forms and the
  designer refuse control characters.)
- Ids past 64 bits. ``<int:…>`` in a route matches whole numbers a database id can hold;
  a larger one is a 404 (SQLite cannot even bind it).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

NUL = "\x00"
MAX_ID = 2**63 - 1


class DatabaseId(IntegerConverter):
    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None,  # noqa: A002 - werkzeug's names
                 max: int | None = None, signed: bool = False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits, min, MAX_ID if max is None else max, signed)


def _holds_nul(pairs: Any) -> bool:
    return any(NUL in key or NUL in value for key, value in pairs)


def register(app: Flask) -> None:
    """Call before any route is added (the converter applies to routes added after it)."""
    app.url_map.converters["int"] = DatabaseId

    @app.before_request
    def _refuse_nul() -> None:
        where = None
        if NUL in request.path:
            where = "路径"
        elif _holds_nul(request.args.items(multi=True)):
            where = "查询参数"
        elif (request.mimetype == "application/x-www-form-urlencoded" and request.blueprint != "api"
              and _holds_nul(request.form.items(multi=True))):  # the API reads no forms (415), under its own limits
            where = "表单"
        if where:
            abort(400, description=f"{where}含有不允许的控制字符（NUL）")
