"""The layering contracts of setup.cfg: app -> workflows -> calendars, never back, and the
engine layers import no Flask. Runs import-linter over the source tree."""

from __future__ import annotations

import os
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold() -> None:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        assert lint_imports(config_filename="setup.cfg", no_cache=True) == 0
    finally:
        os.chdir(cwd)
