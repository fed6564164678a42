"""Generating, storing and publishing monthly bulletins (R9).

Generating first rolls up the months that have ended (``report_totals``). A bulletin is
generated for a month that has ended — by ``hcp bulletin``, from the
bulletin page, or automatically on the first working day of the next month (Beijing
time, on the loaded calendar) — and stored as generated. In the same transaction an
outbox record (kind ``bulletin``) is written for the performance-supervision office
(效能监督), pushed like the provincial records but to ``HCP_SUPERVISION_URL``: never lost,
never duplicated. Generating again makes a new revision (and a new record); the earlier
ones stay.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import calendars
from apscheduler.schedulers.base import BaseScheduler
from calendars import SHANGHAI
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflows.clock import current_clock

from ..database import database_outage_logged
from ..extensions import db
from ..models import Bulletin, OutboxRecord
from ..models.outbox import PENDING
from ..sqlite_writes import begin_write
from .bulletin import build, title
from .calendar_years import sync_calendar
from .push import province_url, push_once
from .report_period import Period, month_of
from .report_totals import roll_up_ended

log = logging.getLogger(__name__)

SYSTEM = "system"
KIND = "bulletin"
SUPERVISION_URL_VARIABLE = "HCP_SUPERVISION_URL"
CHECK_EVERY = timedelta(hours=1)


class BulletinError(ValueError):
    """The bulletin cannot be generated; nothing was changed."""


def latest(session: Session, month: str) -> Bulletin | None:
    return session.scalar(select(Bulletin).where(Bulletin.month == month)
                          .order_by(Bulletin.revision.desc()).limit(1))


def revision(session: Session, month: str, number: int) -> Bulletin | None:
    return session.scalar(select(Bulletin).where(Bulletin.month == month, Bulletin.revision == number))


def listing(session: Session, limit: int = 60) -> list[Bulletin]:
    """The newest revision of each month's bulletin, newest month first."""
    newest = (select(Bulletin.month, func.max(Bulletin.revision).label("revision"))
              .group_by(Bulletin.month).subquery())
    return list(session.scalars(select(Bulletin).join(newest, (newest.c.month == Bulletin.month)
                                                       & (newest.c.revision == Bulletin.revision))
                                .order_by(Bulletin.month.desc()).limit(limit)))


def supervision_payload(bulletin: Bulletin) -> dict[str, Any]:
    """What the supervision office is told: the rankings, flags and totals (no personal data)."""
    content = bulletin.content
    total = content["total"]

    def rates(row: dict[str, Any]) -> dict[str, Any]:
        ratings, cases = row["ratings"], row["cases"]
        return {"valid": ratings["valid"], "good": ratings["good"], "bad": ratings["bad"],
                "excluded": ratings["excluded"], "goodRate": ratings["good_rate"], "badRate": ratings["bad_rate"],
                "cases": cases["opened"], "contactRate": cases["contact_rate"], "rectifyRate": cases["rectify_rate"],
                "closeRate": cases["close_rate"], "realNameRate": cases["real_name_rate"],
                "overdueOpen": cases["overdue_open"], "goodRateChange": row["change"]["good_rate"]}

    return {
        "month": bulletin.month, "revision": bulletin.revision, "title": content["title"],
        "generatedAt": bulletin.generated_at.astimezone(SHANGHAI).isoformat(),
        "total": rates(total),
        "coverage": {key: content["coverage"][key] for key in ("items_rate", "departments_rate", "staff_rate")},
        "departments": [{"deptCode": row.get("credit_code"), "name": row["label"], "rank": row["rank"],
                         **rates(row), "openOverdueNow": row["open_overdue_now"],
                         "flags": [flag["code"] for flag in row["flags"]]} for row in content["departments"]],
        "channels": [{"channel": row["key"], "name": row["label"], "kind": row.get("kind"), "rank": row["rank"],
                      **rates(row)} for row in content["channels"]],
        "channelKinds": [{"kind": row["key"], "name": row["label"], **rates(row)} for row in content["channel_kinds"]],
        "flagged": [{"name": item["label"], "reasons": [flag["text"] for flag in item["flags"]]}
                    for item in content["flagged"]],
    }


def generate(session: Session, month: Period, generated_by: str, *, regenerate: bool = False) -> tuple[Bulletin, bool]:
    """The bulletin of ``month``: the stored one, or (when there is none, or ``regenerate``)
    a new revision with its outbox record, in the caller's transaction. The flag says
    whether one was generated."""
    if not month.is_month:
        raise BulletinError("通报按自然月生成")
    now = current_clock().now()
    if month.end > now:
        raise BulletinError(f"{month.label}尚未结束，不能生成通报")
    existing = latest(session, month.month_key)
    if existing is not None and not regenerate:
        return existing, False
    roll_up_ended(session, now)  # the month and those before it are counted from their totals
    bulletin = Bulletin(month=month.month_key, revision=existing.revision + 1 if existing else 1,
                        generated_at=now, generated_by=generated_by[:64], content=build(session, month, now))
    session.add(bulletin)
    session.flush()
    session.add(OutboxRecord(kind=KIND, stream=f"bulletin:{month.month_key}", payload=supervision_payload(bulletin),
                             status=PENDING, attempts=0, next_attempt_at=now, created_at=now))
    session.flush()
    log.info("bulletin %s revision %s generated by %s", month.month_key, bulletin.revision, generated_by)
    return bulletin, True


def first_working_day(year: int, month: int) -> date:
    """The first working day of a month on the loaded calendar (CalendarYearMissing when
    the year has no data)."""
    day = date(year, month, 1)
    while not calendars.is_working_day(day):
        day += timedelta(days=1)
    return day


def due_month(session: Session, now: datetime) -> Period | None:
    """The month whose bulletin is due at ``now``: the previous month, from the first
    working day of this month on, while it has no bulletin."""
    today = now.astimezone(SHANGHAI).date()
    sync_calendar(session)
    if today < first_working_day(today.year, today.month):
        return None
    month = month_of(now).previous_month()
    return None if latest(session, month.month_key) is not None else month


def generate_due(session_factory: Callable[[], Session], now: datetime | None = None) -> Bulletin | None:
    """Generate the bulletin that is due, if any (what the scheduled job runs). Another
    process generating the same bulletin at the same time wins; this one then stores nothing."""
    moment = now or current_clock().now()
    with session_factory() as session:
        begin_write(session)
        if roll_up_ended(session, moment):
            session.commit()
            begin_write(session)
        month = due_month(session, moment)
        if month is None:
            return None
        try:
            bulletin, _created = generate(session, month, SYSTEM)
            session.commit()
        except IntegrityError:
            session.rollback()
            log.info("bulletin %s was generated by another process", month.month_key)
            return None
        return bulletin


def schedule_bulletins(app: Flask, scheduler: BaseScheduler) -> None:
    """Check every hour (and at start) whether a monthly bulletin is due, and generate it."""
    def job() -> None:
        bulletin = None
        with app.app_context(), database_outage_logged("monthly bulletin", log):
            try:
                bulletin = generate_due(db.sessionmaker)
            except calendars.CalendarYearMissing as missing:
                log.warning("monthly bulletin not generated: %s (load the year's holiday data)", missing)
                return
        if bulletin is not None:
            log.info("monthly bulletin %s generated: %s", bulletin.month, title(Period.month(bulletin.month)))

    scheduler.add_job(job, "interval", seconds=int(CHECK_EVERY.total_seconds()), id="monthly-bulletin",
                      max_instances=1, coalesce=True, replace_existing=True,
                      next_run_time=datetime.now(timezone.utc))  # the scheduler runs on real time


def schedule_supervision_push(app: Flask, scheduler: BaseScheduler, interval: int, url: str | None) -> bool:
    """Push bulletin records to the supervision office every ``interval`` seconds; without
    HCP_SUPERVISION_URL nothing is scheduled (records wait in the outbox) and False is returned."""
    if not url:
        log.warning("%s is not set: bulletins are not pushed to the supervision office", SUPERVISION_URL_VARIABLE)
        return False
    target = province_url(url, SUPERVISION_URL_VARIABLE)

    def job() -> None:
        result = None
        with app.app_context(), database_outage_logged("supervision push", log):
            result = push_once(db.sessionmaker, target, supervision=True)
        if result and (result.delivered or result.failed):
            log.info("supervision push: %s delivered, %s failed", result.delivered, result.failed)

    scheduler.add_job(job, "interval", seconds=interval, id="supervision-push", max_instances=1,
                      coalesce=True, replace_existing=True)
    return True


def revisions(session: Session, month: str) -> list[Bulletin]:
    """Every revision of a month's bulletin, newest first."""
    return list(session.scalars(select(Bulletin).where(Bulletin.month == month).order_by(Bulletin.revision.desc())))
