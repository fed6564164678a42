"""In-app notifications: a task offered, a deadline warning, an escalation, a 督办 (urge).

They are written in the transaction of the change that causes them (the engine listener
below, or the urge). When an external channel is configured (HCP_NOTIFY_SMTP_URL or
HCP_NOTIFY_WEBHOOK_URL) each one is also marked for delivery, which
``app.services.notify_delivery`` sends later. Texts name the case, the task and the
department, never the evaluator.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session, joinedload

from workflows.clock import current_clock
from workflows.tables import READY, WAITING, HumanTask, ProcessInstance, Timer

from ..models import Case, Department, Notification, Rating, Role, ServiceItem, User, UserRole
from ..models.notification import NOT_SENT, PENDING
from ..templating import local_time
from .case_history import CLOCK_COLUMNS, CaseListener, per_transaction
from .case_labels import clock_label

TASK_OFFERED, WARNING, ESCALATION, URGED = "task_offered", "warning", "escalation", "urged"
KIND_LABELS = {TASK_OFFERED: "新任务", WARNING: "时限预警", ESCALATION: "超期督办", URGED: "督办"}


def external_channel() -> str | None:
    """``email`` or ``webhook`` when the application's settings name one, else None."""
    if not has_app_context():
        return None
    config = current_app.config
    if config.get("NOTIFY_SMTP_URL"):
        return "email"
    return "webhook" if config.get("NOTIFY_WEBHOOK_URL") else None


def notify(session: Session, users: Iterable[User | int], *, kind: str, case: Case, title: str, body: str = "",
           task: HumanTask | None = None) -> list[Notification]:
    """One notification per user (each user once; users or their ids), in the caller's
    transaction."""
    now = current_clock().now()
    pending = external_channel() is not None
    made: list[Notification] = []
    seen: set[int] = set()
    for user in users:
        user_id = user if isinstance(user, int) else user.id
        if user_id in seen:
            continue
        seen.add(user_id)
        entry = Notification(user_id=user_id, kind=kind, case=case, task=task, title=title[:200], body=body,
                             created_at=now, delivery=PENDING if pending else NOT_SENT,
                             next_attempt_at=now if pending else None)
        session.add(entry)
        made.append(entry)
    return made


def holders_of_role(session: Session, role: Role, department_id: int | None = None) -> list[User]:
    """Active users with ``role`` (in ``department_id`` when given)."""
    return list(session.scalars(_holders(select(User), role, department_id)))


def holder_ids(session: Session, role: Role, department_id: int | None = None) -> list[int]:
    """The ids of :func:`holders_of_role`, without loading the users (notifications need
    no more)."""
    with session.no_autoflush:
        return list(session.scalars(_holders(select(User.id), role, department_id)))


def _holders(query: Select[Any], role: Role, department_id: int | None) -> Select[Any]:
    query = query.join(UserRole, UserRole.user_id == User.id).where(User.active.is_(True), UserRole.role == role)
    if department_id is not None:
        query = query.where(User.department_id == department_id)
    return query.order_by(User.id)


def _case_line(session: Session, case: Case) -> str:
    """工单号 · department · service item, read in one query (once per case and transaction)."""
    lines = per_transaction(session, "case_line")
    # A case opened in this very step is not flushed yet: its rating is, and says the rest.
    rating_id = case.rating_id if case.rating_id is not None else case.rating.id
    line = lines.get(rating_id)
    if line is None:
        with session.no_autoflush:
            short_name, item_name = session.execute(
                select(Department.short_name, ServiceItem.name).select_from(Rating)
                .join(ServiceItem, ServiceItem.id == Rating.service_item_id)
                .outerjoin(Department, Department.id == case.department_id)
                .where(Rating.id == rating_id)).one()
        line = lines[rating_id] = f"工单 {case.case_no} · {short_name or ''} · {item_name}"
    return line


def task_offered(session: Session, case: Case, task: HumanTask) -> list[Notification]:
    """A new task: to its holder if it has one, else to everyone who may take it (the rules
    of ``case_tasks.refusal``: role, department, and for verifiers R10)."""
    from .case_tasks import refusal  # case_tasks builds on the engine runtime, which builds on this module

    if task.claimed_by is not None:
        users = list(session.scalars(select(User.id).where(User.id == task.claimed_by)))
    elif task.role is None:
        users = []
    elif task.role == Role.VERIFIER.value:  # R10 on top of role and department: ask refusal
        candidates = holders_of_role(session, Role.VERIFIER, task.department_id)
        users = [user.id for user in candidates if refusal(session, user, task, case) is None]
    else:  # the query is the rule: the role, in the task's department
        users = holder_ids(session, Role(task.role), task.department_id) if task.status == READY else []
    due = f"；办理期限 {local_time(task.due_at)}" if task.due_at else ""
    return notify(session, users, kind=TASK_OFFERED, case=case, task=task,
                  title=f"新任务：{task.name}（{case.case_no}）", body=_case_line(session, case) + due)


def _deadline_of(session: Session, case: Case, instance_id: int, clock: str | None) -> datetime | None:
    # The case row keeps each clock's deadline in step with its timer (CaseListener.timer_set).
    column = CLOCK_COLUMNS.get(clock or "")
    if column:
        return getattr(case, column)
    return session.scalar(select(Timer.due_at).where(
        Timer.instance_id == instance_id, Timer.clock == clock, Timer.kind == "deadline",
        Timer.status == WAITING).order_by(Timer.id.desc()).limit(1))


def deadline_warning(session: Session, case: Case, timer: Timer) -> list[Notification]:
    """A warning timer fired: to whoever holds the case's open tasks, or to the
    department's handlers when nobody has claimed them."""
    # With autoflush: a warning fired inside a step that opened tasks names them too.
    tasks = session.execute(select(HumanTask.claimed_by, HumanTask.name).where(
        HumanTask.instance_id == timer.instance_id, HumanTask.status == READY).order_by(HumanTask.id)).all()
    holders = sorted({claimed_by for claimed_by, _name in tasks if claimed_by is not None})
    if holders:
        users = list(session.scalars(select(User.id).where(User.id.in_(holders), User.active.is_(True))))
    else:
        users = holder_ids(session, Role.HANDLER, case.department_id)
    due = _deadline_of(session, case, timer.instance_id, timer.clock)
    when = f"将于 {local_time(due)} 到期" if due else "即将到期"
    return notify(session, users, kind=WARNING, case=case,
                  title=f"时限预警：{case.case_no} {clock_label(timer.clock)}{when}",
                  body=_case_line(session, case) + "；待办：" + ("、".join(name for _id, name in tasks) or "无"))


def escalation(session: Session, case: Case, timer: Timer) -> list[Notification]:
    """A deadline passed: to the department's leads and to the supervisors."""
    users = holder_ids(session, Role.LEAD, case.department_id) + holder_ids(session, Role.SUPERVISOR)
    return notify(session, users, kind=ESCALATION, case=case,
                  title=f"超期督办：{case.case_no} {clock_label(timer.clock)}已超期",
                  body=_case_line(session, case) + f"；期限 {local_time(timer.due_at)}")


def urged(session: Session, case: Case, by: User, message: str) -> list[Notification]:
    """督办: to the department's leads."""
    return notify(session, holder_ids(session, Role.LEAD, case.department_id), kind=URGED, case=case,
                  title=f"督办：{case.case_no}", body=f"{_case_line(session, case)}\n{by.display_name}：{message}")


class NotifyingCaseListener(CaseListener):
    """The case listener, plus the notifications its events call for."""

    def task_opened(self, session: Session, instance: ProcessInstance, task: HumanTask) -> None:
        super().task_opened(session, instance, task)
        task_offered(session, self._case(session, instance), task)

    def timer_fired(self, session: Session, instance: ProcessInstance, timer: Timer, *,
                    inline: bool = False) -> None:
        super().timer_fired(session, instance, timer, inline=inline)
        if timer.kind == "warning":
            deadline_warning(session, self._case(session, instance), timer)
        elif timer.kind == "deadline":
            escalation(session, self._case(session, instance), timer)


# -- the user's list ------------------------------------------------------------------------
def unread_count(session: Session, user: User) -> int:
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def list_for(session: Session, user: User, *, page: int = 1, per_page: int = 30) -> tuple[list[Notification], int]:
    """The user's notifications, unread first, newest first; and how many there are."""
    total = session.scalar(select(func.count()).select_from(Notification)
                           .where(Notification.user_id == user.id)) or 0
    rows = session.scalars(select(Notification).where(Notification.user_id == user.id)
                           .options(joinedload(Notification.case))
                           .order_by(Notification.read_at.is_not(None), Notification.id.desc())
                           .offset((max(page, 1) - 1) * per_page).limit(per_page))
    return list(rows), total


def mark_read(session: Session, user: User, notification_id: int) -> Notification:
    """Mark one of the user's notifications read; LookupError if it is not theirs."""
    entry = session.get(Notification, notification_id)
    if entry is None or entry.user_id != user.id:
        raise LookupError(f"notification {notification_id}")
    if entry.read_at is None:
        entry.read_at = current_clock().now()
    return entry


def mark_all_read(session: Session, user: User) -> int:
    result = session.execute(update(Notification)
                             .where(Notification.user_id == user.id, Notification.read_at.is_(None))
                             .values(read_at=current_clock().now()))
    return result.rowcount or 0
