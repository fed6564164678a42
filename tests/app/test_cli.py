"""The ``hcp`` command line: groups listed, bad input answered in one line, exit status 2."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy.orm import Session

from .conftest import TEST_DATA_KEY


def hcp(tmp_path: Path, *args: str, **environ: str) -> subprocess.CompletedProcess[str]:
    """Run the installed console script as an operator would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HCP_")}
    env.update({"HCP_INSTANCE_PATH": str(tmp_path), **{f"HCP_{k}": v for k, v in environ.items()}})
    exe = shutil.which("hcp", path=str(Path(sys.executable).parent)) or "hcp"
    return subprocess.run([exe, *args], capture_output=True, text=True, env=env, timeout=60)


def single_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_help_lists_the_command_groups(tmp_path: Path) -> None:
    result = hcp(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    for group in ("db", "seed-demo", "keys", "run", "shell", "routes"):
        assert f"\n  {group} " in result.stdout


def test_db_upgrade_then_current_on_a_new_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    not_yet = hcp(tmp_path, "db", "current", DATABASE_URL=url)
    assert "run `hcp db upgrade`" in single_error_line(not_yet)
    upgraded = hcp(tmp_path, "db", "upgrade", DATABASE_URL=url)
    assert upgraded.returncode == 0 and "(was empty)" in upgraded.stdout
    assert hcp(tmp_path, "db", "current", DATABASE_URL=url).returncode == 0


@pytest.mark.parametrize(("url", "expected"), [
    ("foo://bar", "Error: configuration: HCP_DATABASE_URL: unknown database dialect or driver 'foo'"),
    ("nonsense", "Error: configuration: HCP_DATABASE_URL: 'nonsense' is not a database URL"),
    ("postgresql+psycopg://nobody@127.0.0.1:9/none",
     "Error: cannot use the database given by HCP_DATABASE_URL=postgresql+psycopg://nobody@127.0.0.1:9/none:"),
])
def test_bad_database_url_is_one_clear_line(tmp_path: Path, url: str, expected: str) -> None:
    assert single_error_line(hcp(tmp_path, "db", "upgrade", DATABASE_URL=url)).startswith(expected)


def test_password_in_the_url_is_never_printed(tmp_path: Path) -> None:
    line = single_error_line(hcp(tmp_path, "db", "upgrade",
                                 DATABASE_URL="postgresql+psycopg://app:s3cret-pw@127.0.0.1:9/none"))
    assert "s3cret-pw" not in line and "app:***@127.0.0.1:9" in line


def test_production_without_secret_is_one_clear_line(tmp_path: Path) -> None:
    line = single_error_line(hcp(tmp_path, "--help", ENV="production"))
    assert line == "Error: configuration: HCP_SECRET_KEY is required when HCP_ENV=production"


def test_unknown_revision_is_one_clear_line(tmp_path: Path) -> None:
    line = single_error_line(hcp(tmp_path, "db", "upgrade", "nowhere",
                                 DATABASE_URL=f"sqlite:///{tmp_path / 'r.sqlite'}"))
    assert line == "Error: migrations: Can't locate revision identified by 'nowhere'"


def test_unknown_command_exits_non_zero(tmp_path: Path) -> None:
    result = hcp(tmp_path, "frobnicate")
    assert result.returncode == 2 and "No such command 'frobnicate'" in result.stderr


def test_keys_new_prints_usable_keys(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["keys", "new"])
    assert result.exit_code == 0
    values = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert len(values["HCP_SECRET_KEY"]) >= 32
    Fernet(values["HCP_DATA_KEYS"].encode())


def test_seed_demo_refuses_production(tmp_path: Path) -> None:
    line = single_error_line(hcp(tmp_path, "seed-demo", ENV="production", SECRET_KEY="p" * 40,
                                 DATA_KEYS=TEST_DATA_KEY, DATABASE_URL=f"sqlite:///{tmp_path / 'p.sqlite'}"))
    assert line.startswith("Error: seed-demo refuses to run with HCP_ENV=production")


def test_seed_demo_command_prints_users_once(app: Flask, session: Session) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "password for all: Hcp@demo2026" in first.output and "shown only now" in first.output
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    assert second.output.strip() == "demo data already complete: nothing added"


def test_a_schema_behind_the_code_says_to_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    assert hcp(tmp_path, "db", "upgrade", "0001", DATABASE_URL=url).returncode == 0
    line = single_error_line(hcp(tmp_path, "seed-demo", DATABASE_URL=url))
    assert line.startswith("Error: the database schema is older than this version (")
    assert line.endswith("run `hcp db upgrade`")
