"""Session cookie flags and the security headers (app/http_headers.py) on every response:
every page of every role, error pages, JSON, files and static assets."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from ..app.case_support import anonymous, signed_in
from ..app.conftest import TEST_DATA_KEY, csrf_token, make_app
from ..app.test_authorization_matrix import ALL_ROLES, World, _path, _routes

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
CSP_MUST = ("default-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'self'",
            "form-action 'self'", "script-src 'self'")


def _missing_headers(response: TestResponse) -> list[str]:
    missing = [f"{name}: {value}" for name, value in HEADERS.items() if response.headers.get(name) != value]
    policy = response.headers.get("Content-Security-Policy", "")
    missing += [f"CSP {part}" for part in CSP_MUST if part not in policy]
    if "'unsafe-inline'" in policy or "'unsafe-eval'" in policy:
        missing.append("CSP allows unsafe-inline/unsafe-eval")
    return missing


def _session_cookie(response: TestResponse, name: str = "session") -> str:
    cookies = [value for value in response.headers.getlist("Set-Cookie") if value.startswith(name + "=")]
    assert cookies, f"no {name} cookie set"
    return cookies[-1]


@pytest.mark.parametrize("who", ["anonymous", *ALL_ROLES])
def test_every_page_every_role_carries_the_security_headers(app: Flask, world: World, who: str) -> None:
    client = anonymous(app) if who == "anonymous" else signed_in(app, world.users[who].username)
    wrong = []
    for endpoint, method, rule in _routes(app):
        if method != "GET":
            continue
        response = client.get(_path(rule, world.values))
        missing = _missing_headers(response)
        if missing:
            wrong.append(f"GET {rule} → {response.status_code}: {missing}")
    assert not wrong, f"{who}: " + "; ".join(wrong)


def test_errors_json_and_static_files_carry_them_too(app: Flask, world: World) -> None:
    client = signed_in(app, world.users["handler"].username)
    responses = {
        "404 page": client.get("/no/such/page"),
        "405": client.put("/inbox"),
        "400 CSRF": client.post("/notifications/read-all"),
        "API 401": anonymous(app).get("/api/v1/tasks"),
        "API 404": client.get("/api/v1/nothing"),
        "OpenAPI": client.get("/api/v1/openapi.json"),
        "static": client.get("/static/css/app.css"),
        "evidence download": client.get(f"/evidence/{world.values['evidence_id']}"),
        "healthz": client.get("/healthz"),
    }
    wrong = {name: (r.status_code, _missing_headers(r)) for name, r in responses.items() if _missing_headers(r)}
    assert not wrong
    assert responses["evidence download"].headers["Cache-Control"] == "private, no-store"
    assert responses["evidence download"].headers["Content-Disposition"].startswith("attachment")


def test_the_session_cookie_is_httponly_and_samesite(app: Flask, world: World) -> None:
    client = anonymous(app)
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"username": world.users["handler"].username,
                                           "password": "Correct-horse-42", "csrf_token": token})
    assert response.status_code == 302
    cookie = _session_cookie(response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Strict-Transport-Security" not in response.headers  # plain http in tests: no HSTS


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """The production configuration (no database is touched by the requests below)."""
    folder = tmp_path_factory.mktemp("production")
    return make_app(f"sqlite:///{folder / 'never-used.sqlite'}", Path(folder), ENV="production",
                    SECRET_KEY="p" * 48, DATA_KEYS=TEST_DATA_KEY)


def test_production_cookies_are_secure_and_hsts_is_sent(production: Flask) -> None:
    assert production.config["SESSION_COOKIE_SECURE"] and production.config["REMEMBER_COOKIE_SECURE"]
    assert production.config["SESSION_COOKIE_HTTPONLY"] and production.config["REMEMBER_COOKIE_HTTPONLY"]
    assert production.config["SESSION_COOKIE_SAMESITE"] == production.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    client = production.test_client()
    response = client.get("/login", base_url="https://hcp.example")
    cookie = _session_cookie(response)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert int(response.headers["Strict-Transport-Security"].split("=")[1].split(";")[0]) >= 180 * 24 * 3600
    assert not _missing_headers(response)


def test_production_refuses_to_start_without_its_secrets(tmp_path: Path) -> None:
    from app.config import ConfigError

    with pytest.raises(ConfigError, match="HCP_SECRET_KEY is required"):
        make_app(f"sqlite:///{tmp_path / 'x.sqlite'}", tmp_path, ENV="production", SECRET_KEY="", DATA_KEYS=TEST_DATA_KEY)
    with pytest.raises(ConfigError, match="too short for production"):
        make_app(f"sqlite:///{tmp_path / 'x.sqlite'}", tmp_path, ENV="production", SECRET_KEY="short",
                 DATA_KEYS=TEST_DATA_KEY)
