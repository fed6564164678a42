"""Settings from ``HCP_*`` environment variables, validated before anything uses them.

Every setting is named by its environment variable in error messages, so an operator
reading ``HCP_DATABASE_URL: ...`` knows exactly what to fix.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

PREFIX = "HCP_"
ENVIRONMENTS = ("development", "production", "testing")
DEFAULT_DATABASE_URL = "sqlite:///hcp.sqlite"  # relative: under the instance folder


class ConfigError(Exception):
    """A setting is missing or invalid. The message names the setting."""


def env_name(key: str) -> str:
    return PREFIX + key


def load_settings(instance_path: str | Path, overrides: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config mapping from the environment, then ``overrides``.

    ``overrides`` use the keys without prefix (``DATABASE_URL``, ``SECRET_KEY`` …), as
    ``create_app(config=...)`` receives them.
    """
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = {
        key[len(PREFIX):]: value for key, value in environ.items() if key.startswith(PREFIX)
    }
    raw.update(overrides or {})
    instance = Path(instance_path)

    env = str(raw.get("ENV", "development")).strip().lower()
    if env not in ENVIRONMENTS:
        raise ConfigError(f"{env_name('ENV')}: must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")
    production = env == "production"

    settings: dict[str, Any] = {
        "ENV": env,
        "TESTING": env == "testing" or bool(raw.get("TESTING", False)),
        "DATABASE_URL": _database_url(raw.get("DATABASE_URL") or DEFAULT_DATABASE_URL),
        "SECRET_KEY": _secret(raw, "SECRET_KEY", instance, production, _new_secret_key),
        "DATA_KEYS": _data_keys(raw, instance, production),
        "SQL_ECHO": _flag(raw, "SQL_ECHO", False),
        "SESSION_COOKIE_SECURE": _flag(raw, "SESSION_COOKIE_SECURE", production),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "MAX_CONTENT_LENGTH": _positive_int(raw, "MAX_CONTENT_LENGTH", 16 * 1024 * 1024),
        # Evidence files attached to cases (their upload alone may exceed MAX_CONTENT_LENGTH).
        "EVIDENCE_MAX_BYTES": _positive_int(raw, "EVIDENCE_MAX_BYTES", 20 * 1024 * 1024),
        "SWEEP_IN_WEB": _flag(raw, "SWEEP_IN_WEB", False),
        "PROVINCE_URL": _http_url(raw, "PROVINCE_URL"),
        # The performance-supervision office's receiver of monthly bulletins (R9).
        "SUPERVISION_URL": _http_url(raw, "SUPERVISION_URL"),
        "API_RATE_LIMIT": _rate_limit(raw, "API_RATE_LIMIT", "1200/minute"),
        # Failed sign-ins per client address (successful ones are not counted).
        "LOGIN_RATE_LIMIT": _rate_limit(raw, "LOGIN_RATE_LIMIT", "20/minute"),
        # memory:// counts per process; point it at redis://… to share limits between processes.
        "RATELIMIT_STORAGE_URI": str(raw.get("RATE_LIMIT_STORAGE") or "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "SWEEP_INTERVAL": _positive_int(raw, "SWEEP_INTERVAL", 5),
        # How long a closed case's history is kept before it is archived to a file and removed.
        "RETENTION_YEARS": _retention_years(raw),
        **_notify_channel(raw),
    }
    settings["REMEMBER_COOKIE_SECURE"] = settings["SESSION_COOKIE_SECURE"]
    if "WTF_CSRF_ENABLED" in raw:  # tests of views may switch it off explicitly
        settings["WTF_CSRF_ENABLED"] = bool(raw["WTF_CSRF_ENABLED"])
    url = settings["DATABASE_URL"]
    settings["SQLALCHEMY_ENGINES"] = {"default": _engine_options(url, settings["SQL_ECHO"])}
    return settings


def _database_url(value: Any) -> sa.URL:
    name = env_name("DATABASE_URL")
    try:
        url = sa.make_url(str(value))
    except ArgumentError:
        raise ConfigError(f"{name}: {value!r} is not a database URL "
                          "(expected e.g. postgresql+psycopg://user@host:5432/db or sqlite:///file.sqlite)") from None
    try:
        url.get_dialect()
    except NoSuchModuleError:
        raise ConfigError(f"{name}: unknown database dialect or driver {url.drivername!r} "
                          "(supported: sqlite, postgresql+psycopg)") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(f"{name}: {url.get_backend_name()} is not supported; use SQLite or PostgreSQL")
    if url.get_backend_name() == "postgresql" and url.get_driver_name() != "psycopg":
        raise ConfigError(f"{name}: use the psycopg 3 driver, postgresql+psycopg://…, "
                          f"not {url.drivername!r}")
    return url


def _engine_options(url: sa.URL, echo: bool) -> dict[str, Any]:
    options: dict[str, Any] = {"url": url, "echo": echo}
    if url.get_backend_name() == "postgresql":
        options.update(pool_pre_ping=True, pool_size=5, max_overflow=10)
    else:
        # Wait for the one writer SQLite allows instead of failing at once.
        options["connect_args"] = {"timeout": 30}
    return options


def _flag(raw: Mapping[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{env_name(key)}: expected true or false, got {value!r}")


# The shortest time a closed case's history may be kept (the archive rule this installation
# follows). Changed only here, by a reviewed change: no setting can go below it.
LEGAL_MINIMUM_RETENTION_YEARS = 3


def _retention_years(raw: Mapping[str, Any]) -> int:
    years = _positive_int(raw, "RETENTION_YEARS", 10)
    if years < LEGAL_MINIMUM_RETENTION_YEARS:
        raise ConfigError(f"{env_name('RETENTION_YEARS')}: {years} is shorter than the legal minimum of "
                          f"{LEGAL_MINIMUM_RETENTION_YEARS} years")
    return years


def _positive_int(raw: Mapping[str, Any], key: str, default: int) -> int:
    value = raw.get(key)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0:
        raise ConfigError(f"{env_name(key)}: expected a positive whole number, got {value!r}")
    return number


def _http_url(raw: Mapping[str, Any], key: str) -> str | None:
    value = str(raw.get(key) or "").strip()
    if not value:
        return None
    if not value.startswith(("http://", "https://")) or len(value) < 10:
        raise ConfigError(f"{env_name(key)}: expected an http(s) URL, got {value!r}")
    return value


def _notify_channel(raw: Mapping[str, Any]) -> dict[str, str | None]:
    """Where notifications go besides the in-app list: e-mail (``HCP_NOTIFY_SMTP_URL``
    smtp[s]://[user:password@]host[:port] with ``HCP_NOTIFY_MAIL_FROM``) or a webhook
    (``HCP_NOTIFY_WEBHOOK_URL``); one channel at most."""
    smtp = str(raw.get("NOTIFY_SMTP_URL") or "").strip() or None
    sender = str(raw.get("NOTIFY_MAIL_FROM") or "").strip() or None
    webhook = _http_url(raw, "NOTIFY_WEBHOOK_URL")
    if smtp:
        parts = urlsplit(smtp)
        try:
            parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
        except ValueError:
            raise ConfigError(f"{env_name('NOTIFY_SMTP_URL')}: the port is not a number from 1 to 65535") from None
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:  # the value is not echoed: it may hold a password
            raise ConfigError(f"{env_name('NOTIFY_SMTP_URL')}: expected smtp://host:port or smtps://host:port "
                              "(user:password@ before the host when the server wants a login)")
        if webhook:
            raise ConfigError(f"{env_name('NOTIFY_SMTP_URL')} and {env_name('NOTIFY_WEBHOOK_URL')}: "
                              "set one notification channel, not both")
        if not sender:
            raise ConfigError(f"{env_name('NOTIFY_MAIL_FROM')} is required with {env_name('NOTIFY_SMTP_URL')}")
    if sender and not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", sender):
        raise ConfigError(f"{env_name('NOTIFY_MAIL_FROM')}: expected an e-mail address, got {sender!r}")
    return {"NOTIFY_SMTP_URL": smtp, "NOTIFY_MAIL_FROM": sender, "NOTIFY_WEBHOOK_URL": webhook}


def _rate_limit(raw: Mapping[str, Any], key: str, default: str) -> str:
    from limits import parse_many

    value = str(raw.get(key) or default).strip()
    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(f"{env_name(key)}: expected a rate like 1200/minute, got {value!r}") from None
    return value


def _new_secret_key() -> str:
    return secrets.token_urlsafe(48)


def _secret(raw: Mapping[str, Any], key: str, instance: Path, production: bool, make) -> str:
    """The value from the environment; in production it is required; otherwise one is
    generated once and kept in the instance folder so sessions survive restarts."""
    value = raw.get(key)
    if value:
        value = str(value)
        if production and len(value) < 32:
            raise ConfigError(f"{env_name(key)}: too short for production (at least 32 characters)")
        return value
    if production:
        raise ConfigError(f"{env_name(key)} is required when {env_name('ENV')}=production")
    path = instance / key.lower()
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    instance.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(value + "\n")
    return value


def _data_keys(raw: Mapping[str, Any], instance: Path, production: bool) -> list[bytes]:
    """Keys that encrypt evaluators' personal data (DESIGN.md §7), newest first.

    ``HCP_DATA_KEYS`` is a comma-separated list of Fernet keys; the first encrypts, all
    decrypt, so a key can be rotated without rewriting old rows at once.
    """
    value = _secret(raw, "DATA_KEYS", instance, production, lambda: Fernet.generate_key().decode())
    keys = [part.strip().encode("ascii") for part in str(value).split(",") if part.strip()]
    for index, key in enumerate(keys):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ConfigError(f"{env_name('DATA_KEYS')}: key {index + 1} is not a Fernet key "
                              "(32 url-safe base64-encoded bytes; make one with `hcp keys new`)") from None
    if not keys:
        raise ConfigError(f"{env_name('DATA_KEYS')}: no key given")
    return keys


def redacted_url(url: sa.URL) -> str:
    return url.render_as_string(hide_password=True)
