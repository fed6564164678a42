"""A case's complete file for auditors (issue 8): rating, service record, deadlines met or
missed, every history event with its form data, evidence list, comments, and the result
of both checks (hash chain and re-execution). Personal data of the evaluator is masked
unless the export is explicitly unmasked (an auditor, with a reason in the audit log)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from .. import privacy
from ..models import Case
from .case_deadlines import clock_states
from .case_notes import list_comments, list_evidence
from .case_replay import replay_case
from .case_timeline import timeline
from .history_chain import verify_case


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _evaluator(case: Case, unmask: bool) -> dict[str, Any]:
    rating = case.rating
    if unmask:
        name, phone, id_no = rating.evaluator_name, rating.evaluator_phone, rating.evaluator_id_no
    else:
        name = privacy.mask_name(rating.evaluator_name) if rating.evaluator_name else None
        phone = privacy.mask_phone(rating.evaluator_phone) if rating.evaluator_phone else None
        id_no = privacy.mask_id_no(rating.evaluator_id_no) if rating.evaluator_id_no else None
    return {"real_name": rating.real_name, "type": rating.evaluator_type.label, "name": name, "phone": phone,
            "id_type": rating.evaluator_id_type.label if rating.evaluator_id_type else None, "id_no": id_no}


def case_file(session: Session, case: Case, now: datetime, *, unmask: bool = False) -> dict[str, Any]:
    rating, record = case.rating, case.rating.service_record
    chain = verify_case(session, case)
    try:
        replay = replay_case(session, case)
        replayed = {"consistent": replay.consistent, "result": replay.describe(), "steps": len(replay.steps)}
    except LookupError as error:
        replayed = {"consistent": False, "result": str(error), "steps": 0}
    return {
        "case": {"case_no": case.case_no, "status": case.status.label, "stage": case.stage.label,
                 "department": case.department.name, "department_code": case.department.credit_code,
                 "received_at": _iso(case.received_at), "opened_at": _iso(case.opened_at),
                 "closed_at": _iso(case.closed_at), "outcome": case.outcome.label if case.outcome else None,
                 "complex": case.is_complex, "complex_reason": case.complex_reason, "overdue": case.overdue,
                 "reopened": case.reopen_count, "process_version": case.instance.deployment.version
                 if case.instance else None},
        "rating": {"id": rating.id, "source": rating.source, "external_id": rating.external_id,
                   "level": rating.level.label, "channel": rating.channel.label,
                   "dimensions": [d.label for d in rating.dimensions], "comment": rating.comment,
                   "evaluated_at": _iso(rating.evaluated_at), "received_at": _iso(rating.received_at),
                   "follow_up": rating.is_follow_up, "excluded": rating.excluded,
                   "excluded_reason": rating.excluded_reason, "evaluator": _evaluator(case, unmask)},
        "service_record": {"record_no": record.record_no, "item_code": rating.service_item.code,
                           "item_name": rating.service_item.name, "accepted_at": _iso(record.accepted_at),
                           "completed_at": _iso(record.completed_at),
                           "staff_no": rating.staff_member.staff_no if rating.staff_member else None},
        "deadlines": [{"clock": c.clock, "label": c.label, "due_at": _iso(c.due_at), "state": c.state,
                       "text": c.text, "provisional": c.provisional} for c in clock_states(session, case, now)],
        "events": [{"seq": e.seq, "at": _iso(e.at), "event": e.event, "label": e.label, "actor": e.actor,
                    "details": [list(pair) for pair in e.details]} for e in timeline(session, case)],
        "evidence": [{"filename": f.filename, "content_type": f.content_type, "size": f.size, "sha256": f.sha256,
                      "uploaded_by": f.uploader.username, "uploaded_at": _iso(f.created_at)}
                     for f in list_evidence(session, case)],
        "comments": [{"author": c.author.username, "at": _iso(c.created_at), "body": c.body}
                     for c in list_comments(session, case)],
        "verification": {"chain_intact": chain.intact, "chain": chain.describe(),
                         "history_head": case.history_head, "replay": replayed},
        "personal_data": "full" if unmask else "masked",
        "exported_at": _iso(now),
    }
