"""The load test's short version (issue 10, item 3; the 5-minute run is ``make bench``):
``bench/load_test.py`` for a few seconds against gunicorn — intake, inbox reads, claims and
completions at once — must end with no error and every kind of request answered. Its
throughput and latencies are printed, not judged: speed is the benchmark's business."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("intake", "intake_batch", "inbox_page", "tasks_api", "claim", "complete")


def database_arguments() -> list[str]:
    url = os.environ.get("HCP_TEST_DATABASE_URL")
    return ["--postgres", url] if url else []


def test_a_short_mixed_load_ends_without_an_error() -> None:
    env = {k: v for k, v in os.environ.items() if k != "HCP_TEST_DATABASE_URL"}
    done = subprocess.run([sys.executable, "bench/load_test.py", "--seconds", "12", "--clients", "4",
                           *database_arguments()], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=280, check=False)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert re.search(r"^errors: 0$", done.stdout, re.M), report
    for kind in KINDS:
        row = re.search(rf"^{kind}\s+(\d+)\s", done.stdout, re.M)
        assert row and int(row.group(1)) > 0, f"no {kind} request answered:\n{report}"
    assert "Traceback" not in report, report
