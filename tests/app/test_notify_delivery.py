"""Sending notifications on: by e-mail to a local SMTP receiver (aiosmtpd in a thread) and by
webhook to a local HTTP receiver (http.server in a thread) — each sent once, failures
retried with back-off and recorded, never any data of the evaluator; the settings that
choose the channel; ``hcp notify --once`` and the worker's job."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy.orm import Session

from app.config import ConfigError, load_settings
from app.extensions import db
from app.models.notification import FAILED, PENDING, SENT
from app.services.notify_delivery import MAX_ATTEMPTS, Channel, _claim, deliver_once, schedule_delivery
from workflows.clock import ManualClock

from .case_support import NAME, PHONE, District, notes_of, real_name_case
from .test_cases import district  # noqa: F401  (fixture)

MAIL_FROM = "noreply@hcp.example.gov.cn"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.messages.append(envelope)
        return "250 Message accepted"


@contextmanager
def smtp_receiver() -> Iterator[tuple[str, Mailbox]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", mailbox
    finally:
        controller.stop()


@contextmanager
def http_receiver(statuses: list[int]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Answers each POST with the next status of ``statuses`` (then 204); records bodies."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(statuses.pop(0) if statuses else 204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hooks/hcp", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def email_channel(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """New notifications are pending for e-mail (the URL is replaced per test)."""
    monkeypatch.setitem(app.config, "NOTIFY_SMTP_URL", "smtp://127.0.0.1:25")
    monkeypatch.setitem(app.config, "NOTIFY_MAIL_FROM", MAIL_FROM)


def test_email_is_sent_once_to_the_users_address(session: Session, district: District, clock: ManualClock,
                                                 email_channel: None) -> None:
    district.h1.email = "yb.h1@yibao.example.gov.cn"
    case = real_name_case(session, district, clock)  # offers triage to h1 and h2 (who has no address)
    [to_h1], [to_h2] = notes_of(session, district.h1), notes_of(session, district.h2)
    assert to_h1.delivery == to_h2.delivery == PENDING
    with smtp_receiver() as (url, mailbox):
        channel = Channel("email", url, MAIL_FROM, timeout=5)
        result = deliver_once(db.sessionmaker, channel)
        assert (result.sent, result.failed, result.given_up) == (1, 1, 1)
        assert deliver_once(db.sessionmaker, channel).sent == 0  # each is sent once
    [envelope] = mailbox.messages
    assert envelope.mail_from == MAIL_FROM and envelope.rcpt_tos == ["yb.h1@yibao.example.gov.cn"]
    mail = message_from_bytes(envelope.content, policy=policy.default)
    assert mail["Subject"] == f"新任务：初步处置（{case.case_no}）"
    text = mail.get_content()
    assert case.case_no in text and "新建区医疗保障局" in text
    assert NAME not in text and PHONE not in text
    [to_h1], [to_h2] = notes_of(session, district.h1), notes_of(session, district.h2)
    assert (to_h1.delivery, to_h1.attempts, to_h1.last_error, to_h1.next_attempt_at) == (SENT, 1, None, None)
    assert to_h2.delivery == FAILED and to_h2.last_error == "user yb.h2 has no e-mail address"


def test_email_failure_is_retried_after_a_back_off(session: Session, district: District, clock: ManualClock,
                                                   email_channel: None) -> None:
    district.h1.email = "yb.h1@yibao.example.gov.cn"
    district.h2.email = "yb.h2@yibao.example.gov.cn"
    real_name_case(session, district, clock)
    refused = Channel("email", f"smtp://127.0.0.1:{free_port()}", MAIL_FROM, timeout=5)  # nobody listens
    result = deliver_once(db.sessionmaker, refused)
    assert (result.sent, result.failed, result.given_up) == (0, 2, 0)
    assert result.errors[0].endswith("cannot send by SMTP: ConnectionRefusedError")
    note = notes_of(session, district.h1)[0]
    assert (note.delivery, note.attempts) == (PENDING, 1)
    assert note.last_error == "cannot send by SMTP: ConnectionRefusedError"
    assert note.next_attempt_at == clock.now() + timedelta(seconds=5)
    with smtp_receiver() as (url, mailbox):
        working = Channel("email", url, MAIL_FROM, timeout=5)
        assert deliver_once(db.sessionmaker, working).sent == 0  # still backing off
        clock.advance(timedelta(seconds=5))
        assert deliver_once(db.sessionmaker, working).sent == 2
    assert sorted(e.rcpt_tos[0] for e in mailbox.messages) == ["yb.h1@yibao.example.gov.cn",
                                                                "yb.h2@yibao.example.gov.cn"]
    note = notes_of(session, district.h1)[0]
    assert (note.delivery, note.attempts, note.last_error) == (SENT, 2, None)


def test_webhook_with_a_failure_and_a_retry(app: Flask, session: Session, district: District, clock: ManualClock,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "NOTIFY_WEBHOOK_URL", "http://127.0.0.1:9/unused")
    case = real_name_case(session, district, clock)
    with http_receiver([500]) as (url, received):
        channel = Channel("webhook", url, timeout=5)
        first = deliver_once(db.sessionmaker, channel)
        assert (first.sent, first.failed) == (1, 1) and first.errors[0].endswith("webhook answered HTTP 500")
        clock.advance(timedelta(seconds=5))
        assert deliver_once(db.sessionmaker, channel).sent == 1
        assert deliver_once(db.sessionmaker, channel).sent == 0
    assert len(received) == 3  # one refused, then each notification once
    payload = received[-1]
    assert set(payload) == {"id", "kind", "title", "body", "case_no", "task_id", "user", "created_at"}
    assert payload["kind"] == "task_offered" and payload["case_no"] == case.case_no
    assert all(NAME not in json.dumps(body, ensure_ascii=False) and PHONE not in json.dumps(body)
               for body in received)
    assert {n.delivery for n in notes_of(session, district.h1) + notes_of(session, district.h2)} == {SENT}


def test_a_notification_is_given_up_after_the_last_attempt(app: Flask, session: Session, district: District,
                                                           clock: ManualClock,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "NOTIFY_WEBHOOK_URL", "http://127.0.0.1:9/unused")
    real_name_case(session, district, clock)
    note = notes_of(session, district.h1)[0]
    note.attempts = MAX_ATTEMPTS - 1
    session.commit()
    with http_receiver([503, 503]) as (url, _received):
        result = deliver_once(db.sessionmaker, Channel("webhook", url, timeout=5))
    assert result.given_up == 1
    note = notes_of(session, district.h1)[0]
    assert (note.delivery, note.attempts, note.next_attempt_at) == (FAILED, MAX_ATTEMPTS, None)
    assert note.last_error == "webhook answered HTTP 503"
    assert notes_of(session, district.h2)[0].delivery == PENDING  # its first failure: retried later


def test_two_senders_never_take_the_same_notification(app: Flask, session: Session, district: District,
                                                      clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "NOTIFY_WEBHOOK_URL", "http://127.0.0.1:9/unused")
    real_name_case(session, district, clock)
    first = _claim(db.sessionmaker, clock.now(), 0)
    second = _claim(db.sessionmaker, clock.now(), 0)
    assert first is not None and second is not None and first.id != second.id
    assert _claim(db.sessionmaker, clock.now(), 0) is None  # both leased
    clock.advance(timedelta(minutes=5))
    assert _claim(db.sessionmaker, clock.now(), 0) is not None  # a lease runs out (a sender died)


def test_notify_command(app: Flask, session: Session, district: District, clock: ManualClock,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["notify", "--once"])
    assert result.exit_code == 2 and "no notification channel" in result.output
    real_name_case(session, district, clock)  # made without a channel: nothing to send
    with http_receiver([]) as (url, received):
        monkeypatch.setitem(app.config, "NOTIFY_WEBHOOK_URL", url)
        assert runner.invoke(args=["notify", "--once"]).output.startswith("sent 0 notifications by webhook")
        real_name_case(session, district, clock)
        result = runner.invoke(args=["notify", "--once"])
    assert result.exit_code == 0 and result.output.startswith("sent 2 notifications by webhook, 0 failed")
    assert len(received) == 2
    monkeypatch.setitem(app.config, "NOTIFY_WEBHOOK_URL", f"http://127.0.0.1:{free_port()}/x")
    real_name_case(session, district, clock)
    result = runner.invoke(args=["notify", "--once"])
    assert result.exit_code == 1 and "cannot reach the webhook" in result.output


def test_the_worker_sends_only_with_a_channel(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    scheduler = BackgroundScheduler(timezone="UTC")
    assert schedule_delivery(app, scheduler, 5) is False and scheduler.get_job("notification-delivery") is None
    monkeypatch.setitem(app.config, "NOTIFY_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    assert schedule_delivery(app, scheduler, 5) is True
    assert scheduler.get_job("notification-delivery") is not None


@pytest.mark.parametrize(("environ", "message"), [
    ({"HCP_NOTIFY_SMTP_URL": "smtp://mail.example.gov.cn:25"}, "HCP_NOTIFY_MAIL_FROM is required"),
    ({"HCP_NOTIFY_SMTP_URL": "http://mail.example.gov.cn", "HCP_NOTIFY_MAIL_FROM": MAIL_FROM},
     "HCP_NOTIFY_SMTP_URL: expected smtp://host:port"),
    ({"HCP_NOTIFY_SMTP_URL": "smtp://user:secret@mail:99999", "HCP_NOTIFY_MAIL_FROM": MAIL_FROM},
     "HCP_NOTIFY_SMTP_URL: the port is not a number"),
    ({"HCP_NOTIFY_SMTP_URL": "smtp://mail:25", "HCP_NOTIFY_MAIL_FROM": "not an address"},
     "HCP_NOTIFY_MAIL_FROM: expected an e-mail address"),
    ({"HCP_NOTIFY_WEBHOOK_URL": "ftp://hooks.example"}, "HCP_NOTIFY_WEBHOOK_URL: expected an http(s) URL"),
    ({"HCP_NOTIFY_WEBHOOK_URL": "https://hooks.example/x", "HCP_NOTIFY_SMTP_URL": "smtp://mail:25",
      "HCP_NOTIFY_MAIL_FROM": MAIL_FROM}, "set one notification channel, not both"),
])
def test_channel_settings_are_validated(tmp_path: Path, environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(tmp_path, environ={"HCP_SECRET_KEY": "x" * 40, **environ})
    assert message in str(error.value) and "secret" not in str(error.value)


def test_channel_settings(tmp_path: Path) -> None:
    base = {"HCP_SECRET_KEY": "x" * 40}
    none = load_settings(tmp_path, environ=base)
    assert Channel.from_settings(none) is None
    mail = load_settings(tmp_path, environ={**base, "HCP_NOTIFY_SMTP_URL": "smtps://hcp:pw@mail.example:465",
                                            "HCP_NOTIFY_MAIL_FROM": MAIL_FROM})
    assert Channel.from_settings(mail) == Channel("email", "smtps://hcp:pw@mail.example:465", MAIL_FROM)
    hook = load_settings(tmp_path, environ={**base, "HCP_NOTIFY_WEBHOOK_URL": "https://hooks.example/hcp"})
    assert Channel.from_settings(hook) == Channel("webhook", "https://hooks.example/hcp")
