"""Records for the provincial 好差评 system (R11), written to the outbox in the transaction
of the change they report. Payloads use the national upload interface's terms and codes
(DESIGN.md §7): satisfaction 1 = 非常不满意 … 5 = 非常满意, channel and dimension codes.
Evaluators' personal data never leaves the system: only whether the rating is anonymous
and the evaluator's type are sent."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from calendars import SHANGHAI
from sqlalchemy import Connection, insert
from sqlalchemy.orm import Session

from workflows.clock import current_clock

from ..models import Case, Channel, Dimension, EvaluatorType, Level, OutboxRecord
from ..models.outbox import PENDING

# Channel codes of the upload interface (evaluateChannel). Provinces differ; this is the
# mapping of the interface this installation reports to.
CHANNEL_CODES = {
    Channel.WEB_PORTAL: "1",  # PC端
    Channel.MOBILE_APP: "2",  # 移动端
    Channel.QR_CODE: "3",  # 二维码
    Channel.WINDOW_DEVICE: "4",  # 政务大厅评价器
    Channel.SELF_SERVICE: "5",  # 政务大厅其他终端
    Channel.HOTLINE: "6",  # 电话
    Channel.SMS: "7",  # 短信
}
# 测评指标 codes (evalDetail), in the order of R2.
DIMENSION_CODES = {dimension: f"{number:02d}" for number, dimension in enumerate(Dimension, start=1)}
EVALUATOR_TYPE_CODES = {EvaluatorType.PERSON: "1", EvaluatorType.LEGAL_ENTITY: "2"}
# Case milestones reported upward.
MILESTONES = ("opened", "contacted", "rectified", "return_visited", "filed", "appeal_decided", "closed")


def _time(moment: datetime | None) -> str | None:
    return moment.astimezone(SHANGHAI).isoformat() if moment else None


@dataclass(frozen=True)
class EvaluationFacts:
    """What the province is told of a rating (no personal data: DESIGN.md §7)."""

    record_no: str
    item_code: str
    department_code: str
    level: Level
    channel: Channel
    evaluated_at: datetime
    sequence: int
    comment: str | None
    dimensions: tuple[Dimension, ...]
    real_name: bool
    evaluator_type: EvaluatorType
    region_code: str | None
    staff_no: str | None


def evaluation_payload(facts: EvaluationFacts) -> dict[str, Any]:
    return {
        "projectNo": facts.record_no,  # 办件编号
        "taskCode": facts.item_code,  # 事项编码
        "deptCode": facts.department_code,  # 部门统一社会信用代码
        "satisfaction": facts.level.national_code,  # 满意度: 5 非常满意 … 1 非常不满意
        "evaluateChannel": CHANNEL_CODES[facts.channel],
        "evaluateTime": _time(facts.evaluated_at),
        "evaluateNum": facts.sequence,  # 评价次数: 1 首次, 2 追评
        "evalContent": facts.comment or "",
        "evalDetail": [DIMENSION_CODES[d] for d in facts.dimensions],
        "anonymous": not facts.real_name,  # 匿名标志
        "userType": EVALUATOR_TYPE_CODES[facts.evaluator_type],
        "areaCode": facts.region_code,
        "staffNo": facts.staff_no,
    }


def _row(kind: str, stream: str, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {"kind": kind, "stream": stream, "payload": payload, "status": PENDING, "attempts": 0,
            "next_attempt_at": now, "created_at": now}


def enqueue_evaluations(connection: Connection, ratings: Iterable[tuple[int, EvaluationFacts]]) -> None:
    """The records of newly stored ratings (R11), in one Core statement on the connection of
    the caller's transaction."""
    now = current_clock().now()
    rows = [_row("evaluation", f"rating:{rating_id}", evaluation_payload(facts), now) for rating_id, facts in ratings]
    if rows:
        connection.execute(insert(OutboxRecord.__table__), rows)


def _add(session: Session, kind: str, stream: str, payload: dict[str, Any]) -> OutboxRecord:
    record = OutboxRecord(**_row(kind, stream, payload, current_clock().now()))
    session.add(record)
    return record


def enqueue_milestone(session: Session, case: Case, milestone: str, **details: Any) -> OutboxRecord:
    """A case milestone; records of one case are delivered in the order they were written."""
    if milestone not in MILESTONES:
        raise ValueError(f"unknown milestone {milestone!r}")
    payload = {"caseNo": case.case_no, "projectNo": case.rating.service_record.record_no,
               "deptCode": case.department.credit_code, "milestone": milestone,
               "time": _time(current_clock().now()), **details}
    return _add(session, "case_milestone", f"case:{case.case_no}", payload)


def milestone_of_task(bpmn_id: str, values: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The milestone a completed task reports, with what the province is told of it."""
    if bpmn_id == "contact_citizen":
        return "contacted", {"contacted": values.get("contacted"), "problemExists": values.get("problem_exists")}
    if bpmn_id == "rectify" and values.get("action") == "report":
        return "rectified", {}
    if bpmn_id == "return_visit":
        return "return_visited", {"visited": values.get("visited"), "satisfied": values.get("citizen_satisfied")}
    if bpmn_id == "file_record":
        return "filed", {}
    if bpmn_id == "decide_appeal":
        return "appeal_decided", {"decision": values.get("appeal_decision"), "recheck": False}
    if bpmn_id == "decide_recheck":
        return "appeal_decided", {"decision": values.get("recheck_decision"), "recheck": True}
    return None
