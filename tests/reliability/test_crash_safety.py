"""Crash safety under SIGKILL (issue 10, item 1): the short version of
``python -m tests.reliability.crash_harness`` — 24 kills of web and worker processes while
ratings arrive, timers come due and the outbox is pushed; nothing lost, nothing doubled."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from ..db_support import fresh_database, on_postgres
from .crash_harness import SWEEPER_IN_PUSH, SWEEPERS, WEB_ALL, WEB_WORKER, run

pytestmark = pytest.mark.skipif(
    not on_postgres(), reason="crash safety runs gunicorn and two hcp workers on one database: PostgreSQL only "
                              "(set HCP_TEST_DATABASE_URL)")


def test_24_sigkills_lose_and_double_nothing(tmp_path: Path) -> None:
    seed = int(os.environ.get("HCP_CHAOS_SEED") or random.randrange(1_000_000))
    with fresh_database(tmp_path) as url:
        report = run(url, tmp_path, kills=24, seed=seed)
    context = "\n".join([f"seed {seed} (HCP_CHAOS_SEED={seed} repeats the kill plan)", *report.lines(),
                         *report.problems[:40]])
    assert len(report.kills) == 24, context
    targets = {target for _second, target, _pid in report.kills}
    assert {SWEEPER_IN_PUSH, WEB_WORKER, WEB_ALL} <= targets <= {SWEEPERS, SWEEPER_IN_PUSH, WEB_WORKER, WEB_ALL}, \
        "hcp workers (some inside a push), gunicorn workers and gunicorn as a whole were killed\n" + context
    assert report.problems == [], context
    found = report.findings
    assert found.ratings > 0 and found.cases > 0 and found.stub_records == found.outbox, context
    assert found.timers_fired["warning"] > 0 and found.timers_fired["deadline"] > 0, \
        "triage warnings were due from the start, the triage deadlines came due during the kills\n" + context
