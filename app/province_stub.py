"""A stand-in for the receiving end of the provincial 好差评 system (R11), for demos and tests.

``POST /api/records`` takes a batch ``{"records": [{"id", "kind", "stream", "payload"}, …]}``
and stores each record once in its own SQLite file, keyed by the sender's record id: a
record that arrives again (a retried batch whose answer was lost) is recognised, counted
in ``repeats`` and acknowledged, but not stored twice. The order of arrival is kept
(``seq``). The answer is ``{"accepted": [ids…]}``. ``GET /api/records`` lists what is
stored, in order of arrival.

It listens on the loopback interface only; it is no part of a production installation.
"""

from __future__ import annotations

import json
import socket
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

RECORDS_PATH = "/api/records"
LOOPBACK = "127.0.0.1"
MAX_BODY = 16 * 1024 * 1024
MAX_ID = 2**63 - 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- order of arrival
    id INTEGER NOT NULL UNIQUE,             -- the sender's stable record id
    kind TEXT NOT NULL,
    stream TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at TEXT NOT NULL,
    repeats INTEGER NOT NULL DEFAULT 0      -- how often it arrived again after being stored
)
"""


class BatchError(ValueError):
    """The request body is not a valid batch; the message says why (in Chinese)."""


def parse_batch(body: bytes) -> list[dict[str, Any]]:
    """The records of a batch, checked completely before anything is stored."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BatchError("请求体须为 UTF-8 编码的 JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("records"), list):
        raise BatchError('请求体须为 {"records": [...]}')
    records: list[dict[str, Any]] = []
    for number, item in enumerate(data["records"], start=1):
        if not isinstance(item, dict):
            raise BatchError(f"第{number}条记录须为 JSON 对象")
        record_id = item.get("id")
        if isinstance(record_id, bool) or not isinstance(record_id, int) or not 0 < record_id <= MAX_ID:
            raise BatchError(f"第{number}条记录: id 须为正整数")
        for key in ("kind", "stream"):
            if not isinstance(item.get(key), str) or not item[key]:
                raise BatchError(f"第{number}条记录: {key} 须为非空字符串")
        if not isinstance(item.get("payload"), dict):
            raise BatchError(f"第{number}条记录: payload 须为 JSON 对象")
        records.append({key: item[key] for key in ("id", "kind", "stream", "payload")})
    return records


class ProvinceStub:
    """The receiver as a WSGI application over one SQLite file."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            connection.execute(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # One connection per call: the server answers each request in its own thread.
        connection = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        try:
            yield connection
        finally:
            connection.close()

    def store(self, records: Iterable[dict[str, Any]]) -> list[int]:
        """Store a batch in one transaction, each id once; returns the ids acknowledged."""
        accepted: list[int] = []
        received_at = datetime.now(timezone.utc).isoformat()
        with self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                for record in records:
                    cursor = connection.execute(
                        "INSERT OR IGNORE INTO records (id, kind, stream, payload, received_at) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (record["id"], record["kind"], record["stream"],
                         json.dumps(record["payload"], ensure_ascii=False), received_at))
                    if cursor.rowcount == 0:  # stored before: acknowledge it again, keep one copy
                        connection.execute("UPDATE records SET repeats = repeats + 1 WHERE id = ?",
                                           (record["id"],))
                    accepted.append(record["id"])
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        return accepted

    def records(self) -> list[dict[str, Any]]:
        """Everything stored, in order of arrival."""
        with self._connect() as connection:
            rows = connection.execute("SELECT seq, id, kind, stream, payload, received_at, repeats "
                                      "FROM records ORDER BY seq").fetchall()
        return [{"seq": seq, "id": record_id, "kind": kind, "stream": stream, "payload": json.loads(payload),
                 "received_at": received_at, "repeats": repeats}
                for seq, record_id, kind, stream, payload, received_at, repeats in rows]

    def handle(self, request: Request) -> Response:
        if request.path != RECORDS_PATH:
            raise NotFound()
        if request.method == "GET":
            return _json({"records": self.records()})
        if request.method != "POST":
            raise MethodNotAllowed(valid_methods=["GET", "POST"])
        try:
            records = parse_batch(request.get_data(cache=False))
        except BatchError as error:
            return _json({"error": str(error)}, 400)
        return _json({"accepted": self.store(records)})

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = MAX_BODY
        try:
            response = self.handle(request)
        except HTTPException as error:
            response = _json({"error": error.description or error.name}, error.code or 500)
            if isinstance(error, MethodNotAllowed):
                response.headers["Allow"] = ", ".join(error.valid_methods or [])
        return response(environ, start_response)


def _json(data: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status=status,
                    mimetype="application/json")


def make_stub_server(application: Any, port: int = 0) -> BaseWSGIServer:
    """A threaded HTTP server for ``application`` (a :class:`ProvinceStub`, or a WSGI
    wrapper around one) on 127.0.0.1; ``port`` 0 takes any free port (see ``server.port``).
    Raises OSError when the port cannot be bound."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOOPBACK, port))
        listener.listen(128)
        # Bound here, not by Werkzeug, whose bind failure prints and exits the process.
        return make_server(LOOPBACK, listener.getsockname()[1], application, threaded=True,
                           fd=listener.fileno())
    finally:
        listener.close()  # the server holds its own duplicate of the socket
