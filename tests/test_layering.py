"""The layering contracts of setup.cfg: app -> workflows -> calendars, never back, and the
engine layers import no Flask. Runs import-linter over the source tree, in a process of its
own: its command line configures logging with ``dictConfig``, which would disable every
logger the suite has already imported (and silence the tests that read their records)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = "from importlinter.cli import lint_imports; raise SystemExit(lint_imports(config_filename='setup.cfg', no_cache=True))"


def test_import_contracts_hold() -> None:
    result = subprocess.run([sys.executable, "-c", LINT], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
