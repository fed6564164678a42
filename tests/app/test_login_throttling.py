"""Sign-in throttling (five wrong passwords lock an account for 15 minutes, a per-address
limit on failed sign-ins) and the change-password page."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from app.config import ConfigError
from app.models import Role
from app.services import accounts
from app.services.accounts import AccountLocked, authenticate
from workflows.clock import ManualClock

from . import factories
from .conftest import csrf_token, make_app

_addresses = itertools.count(1)
LOCKED = "账户已临时锁定，请于 10:15 后再试"  # the clock fixture stands at 10:00 Beijing time
GENERIC = "用户名或密码错误"


@pytest.fixture
def web(app: Flask, session: Session) -> FlaskClient:
    """A client from an address of its own, so the per-address limit is this test's alone."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"198.51.100.{next(_addresses)}"
    return client


def login(client: FlaskClient, username: str, password: str = factories.PASSWORD):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_token(client, "/login")})


def page(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def test_five_wrong_passwords_lock_the_account(session: Session, clock: ManualClock) -> None:
    user = factories.user(session, "lock.me", [Role.AUDITOR])
    for attempt in range(1, accounts.MAX_FAILED_LOGINS):
        assert authenticate(session, "lock.me", "Wrong-pass-1") is None
        assert user.failed_logins == attempt
    with pytest.raises(AccountLocked) as locked:
        authenticate(session, "lock.me", "Wrong-pass-1")
    assert locked.value.until == clock.now() + timedelta(minutes=15) == user.locked_until
    with pytest.raises(AccountLocked):
        authenticate(session, "lock.me", factories.PASSWORD)  # even the right password, while locked
    clock.advance(timedelta(minutes=15))
    assert authenticate(session, "lock.me", factories.PASSWORD) is user
    assert user.failed_logins == 0 and user.locked_until is None and user.last_login_at == clock.now()


def test_lock_ends_on_a_whole_minute(session: Session, clock: ManualClock) -> None:
    user = factories.user(session, "lock.minute", [Role.AUDITOR])
    clock.advance(timedelta(seconds=20))
    for _ in range(accounts.MAX_FAILED_LOGINS - 1):
        authenticate(session, "lock.minute", "Wrong-pass-1")
    with pytest.raises(AccountLocked):
        authenticate(session, "lock.minute", "Wrong-pass-1")
    assert user.locked_until == clock.now() - timedelta(seconds=20) + timedelta(minutes=16)


def test_success_resets_the_count(session: Session, clock: ManualClock) -> None:
    user = factories.user(session, "reset.me", [Role.AUDITOR])
    for _ in range(accounts.MAX_FAILED_LOGINS - 1):
        authenticate(session, "reset.me", "Wrong-pass-1")
    assert authenticate(session, "reset.me", factories.PASSWORD) is user and user.failed_logins == 0
    for _ in range(accounts.MAX_FAILED_LOGINS - 1):
        assert authenticate(session, "reset.me", "Wrong-pass-1") is None
    assert user.locked_until is None


def test_unknown_user_costs_a_password_check_and_gets_none(session: Session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    checks: list[str] = []
    monkeypatch.setattr(accounts, "check_password_hash",
                        lambda stored, password: checks.append(password) or check_password_hash(stored, password))
    for _ in range(accounts.MAX_FAILED_LOGINS + 2):
        assert authenticate(session, "nobody.at.all", "Wrong-pass-1") is None
    assert len(checks) == accounts.MAX_FAILED_LOGINS + 2


def test_login_page_locks_after_five_failures_and_unlocks_later(web: FlaskClient, session: Session,
                                                                 clock: ManualClock) -> None:
    factories.user(session, "web.lock", [Role.AUDITOR])
    for _ in range(accounts.MAX_FAILED_LOGINS - 1):
        assert GENERIC in page(login(web, "web.lock", "Wrong-pass-1"))
    fifth = login(web, "web.lock", "Wrong-pass-1")
    assert fifth.status_code == 200 and LOCKED in page(fifth)
    assert LOCKED in page(login(web, "web.lock"))  # the right password waits too
    assert web.get("/").status_code == 302
    clock.advance(timedelta(minutes=15))
    assert login(web, "web.lock").status_code == 302
    assert web.get("/").status_code == 200


def test_unknown_user_gets_the_generic_message_every_time(web: FlaskClient, session: Session) -> None:
    for _ in range(accounts.MAX_FAILED_LOGINS + 1):
        response = login(web, "ghost.user", "Wrong-pass-1")
        assert GENERIC in page(response) and "锁定" not in page(response)


def test_failures_are_kept_across_requests(web: FlaskClient, session: Session) -> None:
    user = factories.user(session, "web.count", [Role.AUDITOR])
    login(web, "web.count", "Wrong-pass-1")
    login(web, "web.count", "Wrong-pass-1")
    session.refresh(user)
    assert user.failed_logins == 2
    assert login(web, "web.count").status_code == 302
    session.refresh(user)
    assert user.failed_logins == 0


def test_failed_sign_ins_per_address_are_limited(web: FlaskClient, app: Flask, session: Session,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert app.config["LOGIN_RATE_LIMIT"] == "20/minute"
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3/minute")
    factories.user(session, "rate.user", [Role.AUDITOR])
    for _ in range(4):  # successes are not counted
        assert login(web, "rate.user").status_code == 302
        web.post("/logout", data={"csrf_token": csrf_token(web, "/")})
    for n in range(3):
        assert login(web, f"guess.{n}", "Wrong-pass-1").status_code == 200
    refused = login(web, "rate.user")
    assert refused.status_code == 429 and "登录失败次数过多" in page(refused)
    assert 0 < int(refused.headers["Retry-After"]) <= 61
    assert web.get("/login").status_code == 200, "only posts are refused"
    web.environ_base["REMOTE_ADDR"] = "203.0.113.250"
    assert login(web, "rate.user").status_code == 302, "another address is not affected"


def test_a_bad_login_rate_limit_setting_is_one_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="HCP_LOGIN_RATE_LIMIT: expected a rate like 1200/minute, got 'lots'"):
        make_app(f"sqlite:///{tmp_path / 'x.sqlite'}", tmp_path, LOGIN_RATE_LIMIT="lots")


# --- change password -------------------------------------------------------------------------

def change(client: FlaskClient, current: str, new: str, again: str | None = None, *, token: bool = True):
    data = {"current_password": current, "password": new, "confirm": new if again is None else again}
    if token:
        data["csrf_token"] = csrf_token(client, "/account/password")
    return client.post("/account/password", data=data)


def test_change_password_needs_login(web: FlaskClient) -> None:
    response = web.get("/account/password")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize(("current", "new", "again", "message"), [
    ("Wrong-pass-1", "New-pass-99", None, "当前密码不正确"),
    (factories.PASSWORD, "New-pass-99", "New-pass-98", "两次输入的新密码不一致"),
    (factories.PASSWORD, "short1", None, "密码至少8位"),
    (factories.PASSWORD, "abcdefghij", None, "密码须同时包含字母和数字或符号"),
    (factories.PASSWORD, factories.PASSWORD, None, "新密码不能与当前密码相同"),
    (factories.PASSWORD, "", None, "请输入新密码"),
])
def test_change_password_refusals(web: FlaskClient, session: Session, current: str, new: str,
                                  again: str | None, message: str) -> None:
    user = factories.user(session, "pw.refused", [Role.AUDITOR])
    before = user.password_hash
    login(web, "pw.refused")
    response = change(web, current, new, again)
    assert response.status_code == 200 and message in page(response)
    session.refresh(user)
    assert user.password_hash == before and user.password_changed_at is None


def test_guessing_the_current_password_is_limited_too(web: FlaskClient, app: Flask, session: Session,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3/minute")
    factories.user(session, "pw.guess", [Role.AUDITOR])
    login(web, "pw.guess")
    change(web, factories.PASSWORD, "short")  # a weak new password is no guess: not counted
    for _ in range(3):
        assert "当前密码不正确" in page(change(web, "Wrong-pass-1", "New-pass-99"))
    assert change(web, factories.PASSWORD, "New-pass-99").status_code == 429


def test_change_password_without_csrf_is_refused(web: FlaskClient, session: Session) -> None:
    user = factories.user(session, "pw.csrf", [Role.AUDITOR])
    before = user.password_hash
    login(web, "pw.csrf")
    assert change(web, factories.PASSWORD, "New-pass-99", token=False).status_code == 400
    session.refresh(user)
    assert user.password_hash == before


def test_change_password_succeeds(web: FlaskClient, session: Session, clock: ManualClock) -> None:
    user = factories.user(session, "pw.ok", [Role.AUDITOR])
    login(web, "pw.ok")
    form = web.get("/account/password")
    assert form.status_code == 200 and "修改密码" in page(form) and "当前密码" in page(form)
    response = change(web, factories.PASSWORD, "New-pass-99")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "密码已修改" in page(web.get("/"))
    session.refresh(user)
    assert user.password_changed_at == clock.now()
    web.post("/logout", data={"csrf_token": csrf_token(web, "/")})
    assert GENERIC in page(login(web, "pw.ok"))
    assert login(web, "pw.ok", "New-pass-99").status_code == 302


