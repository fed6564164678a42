"""The engine's tables: deployed process versions, instances, and the rows that mirror
what an instance waits for — ready user tasks (the inboxes) and waiting timers (the sweep).

The engine knows nothing of cases, users or departments beyond plain ids: the
application gives them meaning.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .persistence import Base, BigId

# Instance status
RUNNING, COMPLETED, ERRORED = "running", "completed", "errored"
# Human task status
READY, DONE, CANCELLED = "ready", "completed", "cancelled"
# Timer status (and kinds)
WAITING, FIRED = "waiting", "fired"
TIMER_KINDS = ("warning", "deadline", "other")


class Deployment(Base):
    """One deployed version of the process files: every BPMN file and form definition
    that instances of this version run on, kept verbatim so a case can be replayed."""

    __tablename__ = "wf_deployment"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    # Loaded only when used: specs and forms are cached per deployment.
    bpmn_files: Mapped[dict[str, Any]] = mapped_column(deferred=True)  # file name -> XML text
    form_files: Mapped[dict[str, Any]] = mapped_column(deferred=True)  # form name -> definition
    sha256: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(200), default="")
    deployed_by: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime]


class ProcessInstance(Base):
    __tablename__ = "wf_instance"
    __table_args__ = (Index("ix_wf_instance_status", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("wf_deployment.id"))
    process_id: Mapped[str] = mapped_column(String(64))
    # The application's key for the instance (a case number).
    business_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=RUNNING)
    # SpiffWorkflow's serialized workflow without its spec (see workflows.serializer). Plain
    # JSON, not JSONB: SpiffWorkflow restores tasks in the order they were written (each
    # task's data is a delta on its parent's), and JSONB does not keep key order.
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    # Optimistic locking: two writers on one instance cannot both win.
    revision: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": revision}

    deployment: Mapped[Deployment] = relationship()


class HumanTask(Base):
    """A READY user task, offered to a role (and department), until it is completed."""

    __tablename__ = "wf_task"
    __table_args__ = (
        Index("ix_wf_task_offer", "status", "department_id", "role"),
        Index("ix_wf_task_claimed", "claimed_by", "status"),
        Index("ix_wf_task_instance_status", "instance_id", "status"),
        # Inboxes: a department's (or, with no department, a role's) unclaimed open tasks,
        # and the tasks a user completed, newest first.
        Index("ix_wf_task_open_offer", "department_id", "status", "claimed_by", "role"),
        Index("ix_wf_task_completed", "completed_by", "status", "completed_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("wf_instance.id"))
    task_uuid: Mapped[str] = mapped_column(String(36), unique=True)  # SpiffWorkflow's task id
    bpmn_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    lane: Mapped[str | None] = mapped_column(String(50))
    role: Mapped[str | None] = mapped_column(String(32))  # the role the lane maps to
    department_id: Mapped[int | None]  # the department it is offered to, if any
    form: Mapped[str | None] = mapped_column(String(64))
    stage: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=READY)
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]  # the deadline timer watching this task, if any
    claimed_by: Mapped[int | None]
    claimed_at: Mapped[datetime | None]
    completed_by: Mapped[int | None]
    completed_at: Mapped[datetime | None]

    instance: Mapped[ProcessInstance] = relationship()


class Timer(Base):
    """A WAITING timer event; the sweep fires it once its due time has passed."""

    __tablename__ = "wf_timer"
    __table_args__ = (
        UniqueConstraint("task_uuid"),
        Index("ix_wf_timer_due", "status", "due_at"),
        Index("ix_wf_timer_instance", "instance_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("wf_instance.id"))
    task_uuid: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # warning / deadline / other
    clock: Mapped[str | None] = mapped_column(String(16))  # contact / rectify / close
    attached_to: Mapped[str | None] = mapped_column(String(64))  # bpmn id of the host activity
    due_at: Mapped[datetime]
    # Computed while a calendar year it needs was missing (weekends and 1 January only).
    provisional: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default=WAITING)
    created_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]

    instance: Mapped[ProcessInstance] = relationship()
