"""The tamper-evident chain of a case's history (issue 8).

Every event carries ``hash = SHA-256(canonical(event) + prev_hash)``, where ``prev_hash`` is
the hash of the case's previous event (64 zeros for the first), and the case row keeps the
head of its chain (``history_head``, ``history_count``). Changing an event breaks its own
hash; deleting or reordering events breaks the link of the next one; deleting the newest
events is caught by the head kept on the case row.

The canonical form is frozen: ``CHAIN_VERSION`` names it, and migration 0007 carries its
own copy to hash the events written before the chain existed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Case, CaseEvent

CHAIN_VERSION = 1
GENESIS = "0" * 64


def canonical(case_no: str, seq: int, event: str, actor_id: int | None, actor: str, occurred_at: datetime,
              data: dict[str, Any]) -> bytes:
    moment = occurred_at.astimezone(timezone.utc).isoformat(timespec="microseconds")
    body = {"v": CHAIN_VERSION, "case": case_no, "seq": seq, "event": event, "actor_id": actor_id,
            "actor": actor, "at": moment, "data": data}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def link(prev_hash: str, content: bytes) -> str:
    return hashlib.sha256(content + prev_hash.encode()).hexdigest()


def event_hash(case_no: str, entry: Any, prev_hash: str) -> str:
    """``entry``: a :class:`CaseEvent` or a row with its columns."""
    return link(prev_hash, canonical(case_no, entry.seq, entry.event, entry.actor_id, entry.actor,
                                     entry.occurred_at, entry.data))


@dataclass(frozen=True)
class ChainCheck:
    case_no: str
    events: int
    broken_seq: int | None = None  # the first event that does not hold, if any
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None

    def describe(self) -> str:
        if self.intact:
            return f"{self.case_no}：历史完整（{self.events}个事件）"
        where = f"第{self.broken_seq}个事件" if self.broken_seq is not None else "案件"
        return f"{self.case_no}：{where}{self.problem}"


def verify_case(session: Session, case: Case) -> ChainCheck:
    """Check the chain of one case, event by event, and its head on the case row."""
    prev, expected_seq, count = GENESIS, 1, 0
    for entry in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)):
        count += 1
        if entry.seq != expected_seq:
            return ChainCheck(case.case_no, count, expected_seq, "缺失或顺序被改动"
                              f"（应为第{expected_seq}个，实为第{entry.seq}个）")
        if entry.prev_hash != prev:
            return ChainCheck(case.case_no, count, entry.seq, "与前一事件的链接不符（事件被删除、插入或调换）")
        if entry.hash != event_hash(case.case_no, entry, prev):
            return ChainCheck(case.case_no, count, entry.seq, "内容与其哈希不符（事件被改动）")
        prev, expected_seq = entry.hash, expected_seq + 1
    if count != case.history_count or prev != case.history_head:
        return ChainCheck(case.case_no, count, None,
                          f"历史的末端与案件记录不符（应有{case.history_count}个事件，实有{count}个；最新事件被删除或改动）")
    return ChainCheck(case.case_no, count)


@dataclass
class ChainSummary:
    cases: int = 0
    events: int = 0
    broken: list[ChainCheck] | None = None

    def __post_init__(self) -> None:
        self.broken = self.broken or []


def verify_all(session: Session, progress: Callable[[int], None] | None = None) -> ChainSummary:
    """Check every case's chain in one pass over the history (events streamed in case and
    sequence order); ``progress(n)`` after each n cases checked."""
    heads = {row.id: row for row in session.execute(
        select(Case.id, Case.case_no, Case.history_count, Case.history_head).order_by(Case.id))}
    summary = ChainSummary(cases=len(heads))
    state: dict[str, Any] = {"case": None, "prev": GENESIS, "seq": 0, "failed": False}

    def close(case_id: int | None) -> None:
        if case_id is None:
            return
        head = heads.pop(case_id)
        if not state["failed"] and (state["seq"] != head.history_count or state["prev"] != head.history_head):
            summary.broken.append(ChainCheck(head.case_no, state["seq"], None,
                                             f"历史的末端与案件记录不符（应有{head.history_count}个事件，"
                                             f"实有{state['seq']}个；最新事件被删除或改动）"))
        if progress is not None:
            progress(1)

    # Plain rows, not ORM objects: this reads the whole history.
    rows = session.execute(select(CaseEvent.case_id, CaseEvent.seq, CaseEvent.event, CaseEvent.actor_id,
                                  CaseEvent.actor, CaseEvent.occurred_at, CaseEvent.data, CaseEvent.prev_hash,
                                  CaseEvent.hash).order_by(CaseEvent.case_id, CaseEvent.seq)
                           .execution_options(yield_per=5000))
    for entry in rows:
        summary.events += 1
        if entry.case_id != state["case"]:
            close(state["case"])
            state.update(case=entry.case_id, prev=GENESIS, seq=0, failed=False)
        if state["failed"]:
            continue
        case_no = heads[entry.case_id].case_no
        problem = None
        if entry.seq != state["seq"] + 1:
            problem = f"缺失或顺序被改动（应为第{state['seq'] + 1}个，实为第{entry.seq}个）"
        elif entry.prev_hash != state["prev"]:
            problem = "与前一事件的链接不符（事件被删除、插入或调换）"
        elif entry.hash != event_hash(case_no, entry, state["prev"]):
            problem = "内容与其哈希不符（事件被改动）"
        if problem:
            summary.broken.append(ChainCheck(case_no, state["seq"] + 1, state["seq"] + 1, problem))
            state["failed"] = True
            continue
        state["prev"], state["seq"] = entry.hash, entry.seq
    close(state["case"])
    for case_id in list(heads):  # cases without any event left
        state.update(prev=GENESIS, seq=0, failed=False)
        close(case_id)
    return summary
