"""Database outage (issue 10, item 2): the short version of
``python -m tests.reliability.outage_drill`` — the link to PostgreSQL cut for 4 seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..db_support import fresh_database, on_postgres
from .outage_drill import outage_answer_problem, run
from .system import Answer

needs_postgres = pytest.mark.skipif(
    not on_postgres(), reason="the outage is a cut proxy in front of a PostgreSQL server (set HCP_TEST_DATABASE_URL)")


@needs_postgres
def test_intake_answers_503_while_the_database_is_away_and_recovers_by_itself(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        report = run(url, tmp_path, outage=4.0)
    context = "\n".join([*report.lines(), *report.problems[:40]])
    assert report.problems == [], context
    assert report.refused >= 5, "requests were sent during the outage and all refused with 503\n" + context
    assert report.recovery_seconds < 5 and report.failed_after_return == 0, context
    assert report.worker_alive and report.findings.stub_records == report.findings.outbox, context


def test_the_outage_answer_check_refuses_what_a_client_must_not_get() -> None:
    body = {"error": {"status": 503, "message": "系统暂时不可用，请稍后再试"}}
    good = Answer(503, body, {"retry-after": "30", "content-type": "application/json"}, b'{"error": {}}')
    assert outage_answer_problem(good) is None
    assert "HTTP 500" in outage_answer_problem(Answer(500, body, good.headers, b"{}"))
    assert "Retry-After" in outage_answer_problem(Answer(503, body, {"content-type": "application/json"}, b"{}"))
    assert "JSON" in outage_answer_problem(Answer(503, None, {"retry-after": "30", "content-type": "text/html"},
                                                  b"<html>"))
    leaked = Answer(503, body, good.headers, b'{"error": "psycopg.OperationalError: connection refused"}')
    assert "internals" in outage_answer_problem(leaked)
