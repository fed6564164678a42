"""Settings from HCP_* variables: validated, named in every error, no database work."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import create_app
from app.config import ConfigError, load_settings

from .conftest import TEST_DATA_KEY


def settings(tmp_path: Path, **environ: str) -> dict:
    return load_settings(tmp_path, environ={f"HCP_{k}": v for k, v in environ.items()})


def test_defaults_to_development_with_sqlite_under_instance(tmp_path: Path) -> None:
    config = settings(tmp_path)
    assert config["ENV"] == "development"
    assert config["DATABASE_URL"].drivername == "sqlite"
    assert config["DATABASE_URL"].database == "hcp.sqlite"  # resolved under instance/ by the extension


def test_development_generates_secret_key_once_and_keeps_it(tmp_path: Path) -> None:
    first = settings(tmp_path)["SECRET_KEY"]
    second = settings(tmp_path)["SECRET_KEY"]
    assert first == second and len(first) >= 32
    key_file = tmp_path / "secret_key"
    assert key_file.read_text().strip() == first
    assert key_file.stat().st_mode & 0o077 == 0, "the key file must be private to its owner"


def test_production_without_secret_key_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="^HCP_SECRET_KEY is required when HCP_ENV=production$"):
        settings(tmp_path, ENV="production", DATA_KEYS=TEST_DATA_KEY)
    assert not (tmp_path / "secret_key").exists()


def test_production_without_data_keys_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="^HCP_DATA_KEYS is required when HCP_ENV=production$"):
        settings(tmp_path, ENV="production", SECRET_KEY="x" * 40)


def test_production_rejects_short_secret(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HCP_SECRET_KEY: too short"):
        settings(tmp_path, ENV="production", SECRET_KEY="short", DATA_KEYS=TEST_DATA_KEY)


def test_production_sets_secure_cookies(tmp_path: Path) -> None:
    config = settings(tmp_path, ENV="production", SECRET_KEY="x" * 40, DATA_KEYS=TEST_DATA_KEY)
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["SESSION_COOKIE_HTTPONLY"] and config["SESSION_COOKIE_SAMESITE"] == "Lax"


@pytest.mark.parametrize(("value", "message"), [
    ("foo://bar", "HCP_DATABASE_URL: unknown database dialect or driver 'foo'"),
    ("not a url", "HCP_DATABASE_URL: 'not a url' is not a database URL"),
    ("mysql://u@h/db", "HCP_DATABASE_URL: mysql is not supported"),
])
def test_bad_database_url_names_the_setting(tmp_path: Path, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        settings(tmp_path, DATABASE_URL=value)
    assert str(error.value).startswith(message)


def test_unknown_environment_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HCP_ENV: must be one of development, production, testing"):
        settings(tmp_path, ENV="staging")


@pytest.mark.parametrize(("key", "value", "message"), [
    ("SQL_ECHO", "maybe", "HCP_SQL_ECHO: expected true or false, got 'maybe'"),
    ("MAX_CONTENT_LENGTH", "-1", "HCP_MAX_CONTENT_LENGTH: expected a positive whole number, got '-1'"),
    ("DATA_KEYS", "not-a-key", "HCP_DATA_KEYS: key 1 is not a Fernet key"),
    ("API_RATE_LIMIT", "lots", "HCP_API_RATE_LIMIT: expected a rate like 1200/minute, got 'lots'"),
    ("PROVINCE_URL", "ftp://province", "HCP_PROVINCE_URL: expected an http(s) URL, got 'ftp://province'"),
])
def test_bad_values_name_the_setting(tmp_path: Path, key: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        settings(tmp_path, **{key: value})
    assert str(error.value).startswith(message)


def test_overrides_take_precedence_over_environment(tmp_path: Path) -> None:
    config = load_settings(tmp_path, {"DATABASE_URL": "sqlite:///other.sqlite"},
                           environ={"HCP_DATABASE_URL": "sqlite:///env.sqlite"})
    assert config["DATABASE_URL"].database == "other.sqlite"


def test_factory_does_no_database_work(tmp_path: Path) -> None:
    """Nothing listens on port 9; the factory still succeeds because it connects to nothing."""
    app = create_app({"ENV": "testing", "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/none",
                      "SECRET_KEY": "s" * 40, "DATA_KEYS": TEST_DATA_KEY, "INSTANCE_PATH": str(tmp_path)})
    assert {"auth", "main"} <= set(app.blueprints)
    assert {"db", "seed-demo", "keys"} <= set(app.cli.commands)
