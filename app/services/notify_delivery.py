"""Sending notifications on by e-mail or webhook (the channel the settings name).

A run takes the pending notifications that are due, oldest first. Each is claimed by a
conditional update that pushes its next attempt out by a lease (committed before the
send), so two senders — threads, processes, on SQLite or PostgreSQL — never send one
notification at the same time. After the send it is marked ``sent`` once; a failure
leaves it pending with one more attempt, a short ``last_error`` and an exponential
back-off, until ``MAX_ATTEMPTS`` make it ``failed``. A sender killed between the send and
the mark sends it again after the lease (at least once).

The webhook receives ``{"id", "kind", "title", "body", "case_no", "task_id", "user",
"created_at"}``: names of the case and the task, the recipient's user name — no data of the
evaluator (notifications never carry any).
"""

from __future__ import annotations

import http.client
import json
import logging
import smtplib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

from apscheduler.schedulers.base import BaseScheduler
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from workflows.clock import current_clock

from ..database import database_outage_logged
from ..extensions import db
from ..models import Notification
from ..models.notification import FAILED, PENDING, SENT
from ..sqlite_writes import begin_write
from .push import backoff

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 10
MAX_ERROR_LENGTH = 200


class SendFailed(Exception):
    def __init__(self, reason: str, final: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason[:MAX_ERROR_LENGTH]
        self.final = final  # retrying cannot help (e.g. the user has no e-mail address)


@dataclass(frozen=True)
class Channel:
    kind: str  # email / webhook
    url: str
    mail_from: str | None = None
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, config: Mapping[str, Any], timeout: float = 10.0) -> Channel | None:
        if config.get("NOTIFY_SMTP_URL"):
            return cls("email", config["NOTIFY_SMTP_URL"], config.get("NOTIFY_MAIL_FROM"), timeout)
        if config.get("NOTIFY_WEBHOOK_URL"):
            return cls("webhook", config["NOTIFY_WEBHOOK_URL"], None, timeout)
        return None

    def send(self, entry: Notification) -> None:
        if self.kind == "email":
            send_mail(self, entry)
        else:
            post_webhook(self, entry)


@dataclass
class DeliveryResult:
    sent: int = 0
    failed: int = 0  # attempts that failed (retried later, or given up)
    given_up: int = 0  # notifications marked failed for good in this run
    errors: list[str] = field(default_factory=list)


def _message(entry: Notification) -> str:
    case = f"工单：{entry.case.case_no}\n" if entry.case is not None else ""
    return f"{entry.title}\n\n{entry.body}\n\n{case}（政务服务“好差评”差评办理系统，请登录系统查看）\n"


def send_mail(channel: Channel, entry: Notification) -> None:
    address = (entry.user.email or "").strip()
    if not address:
        raise SendFailed(f"user {entry.user.username} has no e-mail address", final=True)
    parts = urlsplit(channel.url)
    mail = EmailMessage()
    mail["Subject"], mail["From"], mail["To"] = entry.title, channel.mail_from or "", address
    mail.set_content(_message(entry))
    try:
        if parts.scheme == "smtps":
            server: smtplib.SMTP = smtplib.SMTP_SSL(parts.hostname or "", parts.port or 465, timeout=channel.timeout,
                                                   context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(parts.hostname or "", parts.port or 25, timeout=channel.timeout)
        with server:
            if parts.username:
                if parts.scheme == "smtp":
                    server.ehlo()
                    if not server.has_extn("starttls"):
                        raise SendFailed("the SMTP server offers no STARTTLS: the password is not sent in clear",
                                         final=True)
                    server.starttls(context=ssl.create_default_context())
                server.login(unquote(parts.username), unquote(parts.password or ""))
            server.send_message(mail)
    except smtplib.SMTPRecipientsRefused:
        raise SendFailed("the SMTP server refused the recipient") from None
    except smtplib.SMTPResponseException as error:
        raise SendFailed(f"SMTP {error.smtp_code}") from None
    except (OSError, smtplib.SMTPException) as error:
        raise SendFailed(f"cannot send by SMTP: {type(error).__name__}") from None


def webhook_payload(entry: Notification) -> dict[str, Any]:
    return {"id": entry.id, "kind": entry.kind, "title": entry.title, "body": entry.body,
            "case_no": entry.case.case_no if entry.case is not None else None, "task_id": entry.task_id,
            "user": entry.user.username, "created_at": entry.created_at.isoformat()}


def post_webhook(channel: Channel, entry: Notification) -> None:
    body = json.dumps(webhook_payload(entry), ensure_ascii=False).encode("utf-8")
    parts = urlsplit(channel.url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname or "", parts.port, timeout=channel.timeout)
    try:
        connection.request("POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), body=body,
                           headers={"Content-Type": "application/json; charset=utf-8"})
        response = connection.getresponse()
        response.read(64 * 1024)
    except TimeoutError:
        raise SendFailed(f"no answer within {channel.timeout:g} s") from None
    except (OSError, http.client.HTTPException) as error:
        raise SendFailed(f"cannot reach the webhook: {type(error).__name__}") from None
    finally:
        connection.close()
    if not 200 <= response.status < 300:
        raise SendFailed(f"webhook answered HTTP {response.status}")


def _claim(session_factory: Callable[[], Session], now: datetime, after: int) -> Notification | None:
    """The next due notification after id ``after``, leased to this sender (committed)."""
    with session_factory() as session:
        while True:
            begin_write(session)
            candidate = session.scalar(select(Notification.id).where(
                Notification.delivery == PENDING, Notification.next_attempt_at <= now, Notification.id > after)
                .order_by(Notification.id).limit(1))
            if candidate is None:
                return None
            taken = session.execute(update(Notification).where(
                Notification.id == candidate, Notification.delivery == PENDING,
                Notification.next_attempt_at <= now).values(next_attempt_at=now + LEASE)
                .execution_options(synchronize_session=False)).rowcount == 1
            session.commit()
            if taken:
                return session.scalar(select(Notification).where(Notification.id == candidate).options(
                    joinedload(Notification.user), joinedload(Notification.case)))
            after = candidate  # another sender has it


def deliver_once(session_factory: Callable[[], Session], channel: Channel, *, now: datetime | None = None,
                 limit: int = 200) -> DeliveryResult:
    """One run over the notifications due at ``now`` (default: the engine clock)."""
    start = now or current_clock().now()
    result = DeliveryResult()
    after = 0
    for _ in range(limit):
        entry = _claim(session_factory, start, after)
        if entry is None:
            break
        after = entry.id
        failure: SendFailed | None = None
        try:
            channel.send(entry)
        except SendFailed as error:
            failure = error
        moment = now or current_clock().now()
        with session_factory() as session:
            begin_write(session)
            row = session.get(Notification, entry.id, populate_existing=True)
            assert row is not None
            row.attempts += 1
            if failure is None:
                row.delivery, row.last_error, row.next_attempt_at = SENT, None, None
                result.sent += 1
            else:
                row.last_error = failure.reason
                result.failed += 1
                result.errors.append(f"notification {row.id}: {failure.reason}")
                if failure.final or row.attempts >= MAX_ATTEMPTS:
                    row.delivery, row.next_attempt_at = FAILED, None
                    result.given_up += 1
                else:
                    row.next_attempt_at = moment + backoff(row.attempts)
            session.commit()
    return result


def schedule_delivery(app: Flask, scheduler: BaseScheduler, interval: int) -> bool:
    """Send notifications every ``interval`` seconds under ``scheduler`` when a channel is
    configured; False (nothing scheduled) without one."""
    channel = Channel.from_settings(app.config)
    if channel is None:
        return False

    def job() -> None:
        result = None
        with app.app_context(), database_outage_logged("notification delivery", log):
            result = deliver_once(db.sessionmaker, channel)
        if result and (result.sent or result.failed):
            log.info("notifications: %s sent, %s failed", result.sent, result.failed)

    scheduler.add_job(job, "interval", seconds=interval, id="notification-delivery", max_instances=1,
                      coalesce=True, replace_existing=True)
    return True
