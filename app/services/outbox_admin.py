"""The outbox as an administrator sees it (R11): what waits for its first push, what keeps
failing (with the receiver's last answer), what was delivered — and a retry that puts
failing records first in line for the next push run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import Session

from ..models import OutboxRecord
from ..models.outbox import DELIVERED, PENDING

WAITING, FAILING, DELIVERED_STATE = "waiting", "failing", "delivered"
STATES = {WAITING: "待推送", FAILING: "推送失败", DELIVERED_STATE: "已推送"}
KINDS = {"evaluation": "评价", "case_milestone": "差评办理节点", "bulletin": "月度通报（效能监督）"}
PER_PAGE = 50


class OutboxQueryError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


@dataclass(frozen=True)
class OutboxFilter:
    state: str = FAILING
    kind: str | None = None
    stream: str | None = None  # a case number or "rating:<id>", matched as a prefix
    page: int = 1

    @classmethod
    def parse(cls, args: Any) -> OutboxFilter:
        state = args.get("state") or FAILING
        if state not in STATES:
            raise OutboxQueryError("state", "未知的推送状态")
        kind = args.get("kind") or None
        if kind is not None and kind not in KINDS:
            raise OutboxQueryError("kind", "未知的记录类型")
        stream = (args.get("stream") or "").strip() or None
        if stream is not None and len(stream) > 64:
            raise OutboxQueryError("stream", "不超过64个字符")
        try:
            page = int(args.get("page") or 1)
        except ValueError:
            raise OutboxQueryError("page", "页码须为正整数") from None
        if page < 1:
            raise OutboxQueryError("page", "页码须为正整数")
        return cls(state, kind, stream, page)


@dataclass
class OutboxPage:
    rows: list[OutboxRecord]
    total: int
    page: int
    pages: int


def _state_condition(state: str) -> Any:
    if state == DELIVERED_STATE:
        return OutboxRecord.status == DELIVERED
    if state == WAITING:
        return (OutboxRecord.status == PENDING) & (OutboxRecord.attempts == 0)
    return (OutboxRecord.status == PENDING) & (OutboxRecord.attempts > 0)


def counts(session: Session) -> dict[str, int]:
    """How many records are in each state."""
    state = case((OutboxRecord.status == DELIVERED, DELIVERED_STATE),
                 (OutboxRecord.attempts == 0, WAITING), else_=FAILING)
    found: dict[str, int] = {name: n for name, n in session.execute(select(state, func.count()).group_by(state))}
    return {name: found.get(name, 0) for name in STATES}


def outbox_page(session: Session, wanted: OutboxFilter) -> OutboxPage:
    conditions = [_state_condition(wanted.state)]
    if wanted.kind:
        conditions.append(OutboxRecord.kind == wanted.kind)
    if wanted.stream:
        term = wanted.stream.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(or_(OutboxRecord.stream.like(f"{term}%", escape="\\"),
                              OutboxRecord.stream.like(f"case:{term}%", escape="\\")))
    total = session.scalar(select(func.count()).select_from(OutboxRecord).where(*conditions)) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = min(wanted.page, pages)
    order = OutboxRecord.id.desc() if wanted.state == DELIVERED_STATE else OutboxRecord.id
    rows = session.scalars(select(OutboxRecord).where(*conditions).order_by(order)
                           .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    return OutboxPage(list(rows), total, page, pages)


def retry_now(session: Session, now: datetime, record_id: int | None = None) -> int:
    """Make failing records due now (one, or all of them); the next push run sends them.
    Their attempt count stays, so the back-off resumes where it was if they fail again.
    Delivered records are never touched. Returns how many were rescheduled."""
    query = update(OutboxRecord).where(_state_condition(FAILING), OutboxRecord.next_attempt_at > now)
    if record_id is not None:
        query = query.where(OutboxRecord.id == record_id)
    result = session.execute(query.values(next_attempt_at=now).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)
