"""What must hold after a run, whatever was killed or cut: checked against the database,
the provincial stub and the client's own record of every answer it received.

- every rating the API accepted (2xx) exists exactly once, under the id it was answered
  with; no rating exists that was not accepted; refused ratings (422) do not exist;
- one case per bad rating, none for the others, no process instance errored;
- every timer that came due fired exactly once: status fired, not before its due time,
  one history event per firing; no due timer left waiting;
- one outbox record per rating and one "opened" milestone per case, every one delivered,
  and stored exactly once at the stub with the same payload (repeats are counted);
- every case's history chain verifies (``hcp audit verify`` and ``verify_all``).
"""

from __future__ import annotations

import subprocess
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.models import Case, CaseEvent, Level, OutboxRecord, Rating
from app.models.outbox import DELIVERED, PENDING
from app.services.push import SUPERVISION_KINDS
from app.services.history_chain import verify_all
from workflows.tables import FIRED, RUNNING, WAITING, ProcessInstance, Timer

from .system import BIN, ROOT, SOURCE, Answer, District

FIRING_EVENTS = {"warning": "deadline_warned", "deadline": "deadline_missed"}


@dataclass
class Ledger:
    """The client's view: each rating id with the rating number it was answered with."""

    accepted: dict[str, int] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, answer: Answer, bodies: list[dict[str, Any]], batch: bool) -> None:
        with self.lock:
            self.statuses[answer.status] += 1
            if batch:
                if answer.status != 200:
                    self.problems.append(f"batch answered HTTP {answer.status}: {answer.raw[:200]!r}")
                    return
                results = answer.body["results"]
                for body, result in zip(bodies, results, strict=True):
                    self._one(body["id"], result.get("status"), result.get("rating_id"))
            else:
                expected = {201: "created", 200: "duplicate", 422: "invalid"}.get(answer.status)
                status = answer.body.get("status") if isinstance(answer.body, dict) else None
                if expected is None or status != expected:
                    self.problems.append(f"rating {bodies[0]['id']} answered HTTP {answer.status}: {answer.raw[:200]!r}")
                    return
                self._one(bodies[0]["id"], status, answer.body.get("rating_id"))

    def _one(self, external_id: str, status: str | None, rating_id: int | None) -> None:
        if status in ("created", "duplicate") and isinstance(rating_id, int):
            known = self.accepted.setdefault(external_id, rating_id)
            if known != rating_id:
                self.problems.append(f"rating {external_id} answered as number {known} and later {rating_id}")
        elif status == "invalid":
            self.refused.add(external_id)
        else:
            self.problems.append(f"rating {external_id}: unexpected answer {status!r}")


@dataclass
class Findings:
    ratings: int = 0
    cases: int = 0
    timers_due: int = 0
    timers_fired: Counter[str] = field(default_factory=Counter)  # by kind
    timers_waiting: int = 0
    outbox: int = 0
    stub_records: int = 0
    stub_repeats: int = 0  # records the stub received again and absorbed
    audit_output: str = ""
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"ratings stored: {self.ratings}; cases: {self.cases}",
                f"timers due: {self.timers_due}; fired: {dict(self.timers_fired)}; still waiting (not due): "
                f"{self.timers_waiting}",
                f"outbox records: {self.outbox}; stored at the stub: {self.stub_records}; "
                f"received again and absorbed by the stub: {self.stub_repeats}",
                f"hcp audit verify: {self.audit_output}"]


def check(session: Session, district: District, ledger: Ledger, stub_records: list[dict[str, Any]],
          due_by: datetime) -> Findings:
    """Everything the module docstring lists; timers with ``due_at <= due_by`` count as due."""
    found = Findings()
    problems = found.problems
    problems.extend(ledger.problems)
    _ratings(session, ledger, found)
    _cases(session, found)
    _timers(session, due_by, found)
    _outbox(session, stub_records, found)
    summary = verify_all(session)
    for broken in summary.broken or []:
        problems.append(f"history chain: {broken.describe()}")
    audit = subprocess.run([str(BIN / "hcp"), "audit", "verify"], cwd=ROOT, env=district.settings(),
                           capture_output=True, text=True, timeout=300)
    found.audit_output = (audit.stdout.strip().splitlines() or [""])[-1]
    if audit.returncode != 0:
        problems.append(f"hcp audit verify exited {audit.returncode}: {audit.stdout[-500:]} {audit.stderr[-500:]}")
    return found


def _ratings(session: Session, ledger: Ledger, found: Findings) -> None:
    rows = session.execute(sa.select(Rating.external_id, Rating.id).where(Rating.source == SOURCE)).all()
    found.ratings = len(rows)
    stored: dict[str, list[int]] = {}
    for external_id, rating_id in rows:
        stored.setdefault(external_id, []).append(rating_id)
    for external_id, ids in stored.items():
        if len(ids) != 1:
            found.problems.append(f"rating {external_id} stored {len(ids)} times: {ids}")
    for external_id, rating_id in ledger.accepted.items():
        if stored.get(external_id) != [rating_id]:
            found.problems.append(f"accepted rating {external_id} (number {rating_id}) stored as {stored.get(external_id)}")
    extra = set(stored) - set(ledger.accepted)
    if extra:
        found.problems.append(f"{len(extra)} ratings stored that no answer accepted, e.g. {sorted(extra)[:5]}")
    for external_id in ledger.refused & set(stored):
        found.problems.append(f"refused rating {external_id} was stored")


def _cases(session: Session, found: Findings) -> None:
    bad = set(session.scalars(sa.select(Rating.id).where(
        Rating.source == SOURCE, Rating.level.in_([level for level in Level if level.is_bad]))))
    cases = Counter(session.scalars(sa.select(Case.rating_id)))
    found.cases = sum(cases.values())
    for rating_id, count in cases.items():
        if count != 1:
            found.problems.append(f"rating {rating_id} has {count} cases")
    if set(cases) != bad:
        found.problems.append(f"cases do not match the bad ratings: {len(bad - set(cases))} bad ratings without a "
                              f"case, {len(set(cases) - bad)} cases of ratings that are not bad")
    stuck = session.execute(sa.select(ProcessInstance.business_key, ProcessInstance.status, ProcessInstance.error)
                            .where(ProcessInstance.status != RUNNING)).all()
    for key, status, error in stuck:
        found.problems.append(f"process instance of {key} is {status}: {error}")


def _timers(session: Session, due_by: datetime, found: Findings) -> None:
    timers = session.execute(sa.select(Timer, Case.id).join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
                             .join(Case, Case.instance_id == ProcessInstance.id)).all()
    per_case = Counter((case_id, timer.bpmn_id) for timer, case_id in timers)
    for (case_id, bpmn_id), count in per_case.items():
        if count != 1:
            found.problems.append(f"case {case_id}: {count} timer rows for {bpmn_id}")
    for case_id in {case_id for case_id, in session.execute(sa.select(Case.id))}:
        if (case_id, "triage_warning") not in per_case or (case_id, "triage_deadline") not in per_case:
            found.problems.append(f"case {case_id} lacks its triage timers")
    events: Counter[tuple[int, str, str]] = Counter()
    escalations: Counter[tuple[int, str]] = Counter()
    for case_id, event, data in session.execute(sa.select(CaseEvent.case_id, CaseEvent.event, CaseEvent.data).where(
            CaseEvent.event.in_([*FIRING_EVENTS.values(), "case_escalated", "timer_fired"]))):
        if event == "case_escalated":
            escalations[(case_id, data.get("timer"))] += 1
        else:
            events[(case_id, data.get("timer"), event)] += 1
    for timer, case_id in timers:
        due = timer.due_at <= due_by
        found.timers_due += due
        if timer.status == WAITING:
            found.timers_waiting += 1
            if due:
                found.problems.append(f"case {case_id}: timer {timer.bpmn_id} due {timer.due_at} never fired")
            continue
        if timer.status != FIRED:
            found.problems.append(f"case {case_id}: timer {timer.bpmn_id} is {timer.status}")
            continue
        found.timers_fired[timer.kind] += 1
        if timer.fired_at is None or timer.fired_at < timer.due_at:
            found.problems.append(f"case {case_id}: timer {timer.bpmn_id} due {timer.due_at} fired early at "
                                  f"{timer.fired_at}")
        event = FIRING_EVENTS.get(timer.kind, "timer_fired")
        if events[(case_id, timer.bpmn_id, event)] != 1:
            found.problems.append(f"case {case_id}: timer {timer.bpmn_id} has "
                                  f"{events[(case_id, timer.bpmn_id, event)]} {event} events")
        if timer.kind == "deadline" and escalations[(case_id, timer.bpmn_id)] != 1:
            found.problems.append(f"case {case_id}: {escalations[(case_id, timer.bpmn_id)]} escalations "
                                  f"for {timer.bpmn_id}")
    fired_keys = {(case_id, timer.bpmn_id) for timer, case_id in timers if timer.status == FIRED}
    for (case_id, bpmn_id, event), count in events.items():
        if (case_id, bpmn_id) not in fired_keys:
            found.problems.append(f"case {case_id}: {count} {event} events for {bpmn_id}, which did not fire")


def _outbox(session: Session, stub_records: list[dict[str, Any]], found: Findings) -> None:
    # The provincial records; the supervision office's (monthly bulletins the worker makes when
    # its moved clock enters a new month) wait in the outbox while HCP_SUPERVISION_URL is unset.
    rows = session.execute(sa.select(OutboxRecord.id, OutboxRecord.kind, OutboxRecord.stream, OutboxRecord.payload,
                                     OutboxRecord.status).where(OutboxRecord.kind.not_in(SUPERVISION_KINDS))).all()
    found.outbox = len(rows)
    ratings = set(session.scalars(sa.select(Rating.id).where(Rating.source == SOURCE)))
    case_numbers = set(session.scalars(sa.select(Case.case_no)))
    evaluations = Counter(r.stream for r in rows if r.kind == "evaluation")
    opened = Counter(r.stream for r in rows if r.kind == "case_milestone" and r.payload.get("milestone") == "opened")
    if evaluations != Counter(f"rating:{n}" for n in ratings):
        found.problems.append(f"evaluation records do not match the ratings one to one: "
                              f"{sum(evaluations.values())} records, {len(ratings)} ratings, "
                              f"{sum(1 for c in evaluations.values() if c > 1)} streams with more than one")
    if opened != Counter(f"case:{n}" for n in case_numbers):
        found.problems.append(f"'opened' milestones do not match the cases one to one: "
                              f"{sum(opened.values())} records, {len(case_numbers)} cases")
    statuses = Counter(r.status for r in rows)
    if set(statuses) - {DELIVERED}:
        found.problems.append(f"outbox records not delivered: {dict(statuses)} (pending is {PENDING!r})")
    received = Counter(record["id"] for record in stub_records)
    found.stub_records = len(stub_records)
    found.stub_repeats = sum(record["repeats"] for record in stub_records)
    doubles = [record_id for record_id, count in received.items() if count > 1]
    if doubles:
        found.problems.append(f"the stub stored {len(doubles)} records twice, e.g. {doubles[:5]}")
    ours = {r.id: r for r in rows}
    missing = set(ours) - set(received)
    if missing:
        found.problems.append(f"{len(missing)} outbox records never arrived at the stub, e.g. {sorted(missing)[:5]}")
    unknown = set(received) - set(ours)
    if unknown:
        found.problems.append(f"the stub holds {len(unknown)} records that are not in the outbox")
    for record in stub_records:
        row = ours.get(record["id"])
        if row is not None and (record["payload"] != row.payload or record["stream"] != row.stream):
            found.problems.append(f"outbox record {record['id']} arrived with another payload")
