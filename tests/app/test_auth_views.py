"""Sign-in, sign-out, CSRF, security headers and error pages."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.models import Role

from . import factories
from .conftest import csrf_token, make_app


def login(client: FlaskClient, username: str, password: str = factories.PASSWORD, **extra: str):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token, **extra})


def test_login_page_is_chinese_and_carries_a_csrf_token(client: FlaskClient) -> None:
    response = client.get("/login")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="zh-CN">' in page and "用户登录" in page and "密码" in page
    assert 'name="csrf_token"' in page


def test_home_requires_login(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_login_shows_the_users_roles_and_department(client: FlaskClient, session: Session) -> None:
    dept = factories.department(session, "新建区医疗保障局")
    factories.user(session, "yibao.h9", [Role.HANDLER, Role.LEAD], dept)
    response = login(client, "yibao.h9")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = client.get("/", follow_redirects=True).get_data(as_text=True)  # a handler lands in the inbox
    assert "用户yibao.h9" in page and "新建区医疗保障局" in page
    assert "部门经办人" in page and "部门负责人" in page


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client: FlaskClient,
                                                                       session: Session) -> None:
    factories.user(session, "some.one", [Role.AUDITOR])
    for username, password in (("some.one", "Wrong-pass-1"), ("no.such.user", factories.PASSWORD)):
        response = login(client, username, password)
        assert response.status_code == 200
        assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_inactive_user_cannot_log_in(client: FlaskClient, session: Session) -> None:
    user = factories.user(session, "gone.user", [Role.AUDITOR])
    user.active = False
    session.flush()
    assert "用户名或密码错误" in login(client, "gone.user").get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client: FlaskClient, session: Session) -> None:
    factories.user(session, "csrf.user", [Role.AUDITOR])
    response = client.post("/login", data={"username": "csrf.user", "password": factories.PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_login_never_redirects_off_site(client: FlaskClient, session: Session) -> None:
    factories.user(session, "redirect.user", [Role.AUDITOR])
    token = csrf_token(client, "/login")
    response = client.post("/login?next=//evil.example/x", data={
        "username": "redirect.user", "password": factories.PASSWORD, "csrf_token": token})
    assert response.headers["Location"] == "/"


def test_logout_needs_post_with_csrf(client: FlaskClient, session: Session) -> None:
    factories.user(session, "leave.user", [Role.AUDITOR])
    login(client, "leave.user")
    assert client.get("/logout").status_code == 405
    client.post("/logout", data={})
    assert client.get("/").status_code == 200, "a logout without a CSRF token does nothing"
    token = csrf_token(client, "/")
    response = client.post("/logout", data={"csrf_token": token})
    assert response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_session_cookie_flags(client: FlaskClient, session: Session) -> None:
    factories.user(session, "cookie.user", [Role.AUDITOR])
    response = login(client, "cookie.user")
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_security_headers(client: FlaskClient) -> None:
    headers = client.get("/login").headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


def test_not_found_page_and_json(client: FlaskClient) -> None:
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "页面不存在" in page.get_data(as_text=True)
    api = client.get("/api/v1/nothing")
    assert api.status_code == 404 and api.get_json() == {"error": {"status": 404, "message": "页面不存在"}}


def test_unreachable_database_answers_503_with_retry_hint(tmp_path: Path) -> None:
    app = make_app("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2", tmp_path)
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"username": "x.user", "password": "y-password-1", "csrf_token": token})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    page = response.get_data(as_text=True)
    assert "系统暂时不可用" in page and "Traceback" not in page


def test_health_check_touches_no_database(tmp_path: Path) -> None:
    app = make_app("postgresql+psycopg://nobody@127.0.0.1:9/none", tmp_path)
    assert app.test_client().get("/healthz").get_json() == {"status": "ok"}
