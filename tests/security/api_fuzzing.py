"""Fuzzing the JSON API from its OpenAPI description with schemathesis, in process (WSGI).

Used by ``test_api_fuzz.py`` (a few hundred requests, fixed seed) and by
``bench/fuzz_api.py`` (tens of thousands). For every operation of ``/api/v1/openapi.json``
schemathesis generates requests that fit the schema (positive) and requests that do not
(negative); each is sent with a valid key or token and its answer checked:

- ``not_a_server_error``: never a 5xx (an exception the test app propagates counts too);
- ``response_schema_conformance``: the body of a documented status fits its schema;
- ``negative_data_rejection``: a request that violates the schema is never accepted (2xx).
  A batch of ratings is judged rating by rating (its answer is 200 with a result per
  rating): in a batch that violates the schema, no rating that violates it may be stored,
  and none at all if the batch itself breaks a rule (more than 1,000, or other keys).

The key or token is always a valid one (no generated ``Authorization``), and no undeclared
query parameters are added (the API ignores unknown parameters, as HTTP APIs do).

Generated ids rarely name something that exists, so a positive request is, with some
probability, pointed at real objects: a task of the handler's department, a case number, a
service record with its item and department (the rating may then be stored, be a duplicate
or conflict with one already stored). Negative requests are sent as generated.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import negative_data_rejection, response_schema_conformance
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.api.openapi import document, rating_schema
from app.identifiers import make_uscc
from app.models import Channel, Department, ItemKind, Role, ServiceItem, ServiceRecord
from app.services import user_tokens
from app.services.api_keys import create_key
from app.services.cases import open_case
from app.services.intake import MAX_BATCH
from workflows.tables import HumanTask

from ..app import factories
from ..app.test_openapi import resolve

# The answers that refuse data violating the schema: schemathesis' list plus 413 (a batch
# over 1,000 ratings is refused by size); a 2xx is the failure looked for.
REJECTED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "429"]
CHECKS = [not_a_server_error, response_schema_conformance, negative_data_rejection]
RATING = Draft202012Validator(resolve(rating_schema(), document()), format_checker=Draft202012Validator.FORMAT_CHECKER)


@dataclass
class FuzzWorld:
    """What the requests are sent with and pointed at."""

    api_key: str
    user_token: str
    task_ids: list[int]
    case_nos: list[str]
    records: list[dict[str, str]]  # service_record_no, service_item_code, department_code


def make_world(session: Session, cases: int = 6, tag: str = "fuzz") -> FuzzWorld:
    """A department with a handler (and a personal token), open cases of real-name bad
    ratings, service records to rate, and an API key. Commits."""
    dept = Department(credit_code=make_uscc("11", "360112", "2460" + f"{random.Random(tag).randrange(10**4):04d}"),
                      name=f"{tag}区行政审批局", short_name="行政审批局", region_code="360112")
    session.add(dept)
    session.flush()
    handler = factories.user(session, f"{tag}.handler", [Role.HANDLER], dept)
    factories.user(session, f"{tag}.lead", [Role.LEAD], dept)
    item = ServiceItem(code=f"{tag.upper()}-ITEM", name="企业设立登记", kind=ItemKind.LICENSING, department=dept)
    session.add(item)
    records = []
    for n in range(50):
        record = ServiceRecord(record_no=f"{tag.upper()}{n:08d}", service_item=item, department=dept)
        session.add(record)
        records.append({"service_record_no": record.record_no, "service_item_code": item.code,
                        "department_code": dept.credit_code})
    opened = []
    for _ in range(cases):
        rating = factories.rating(session, dept)
        rating.real_name = True
        rating.set_evaluator(name="王五", phone="13800001111", id_type=None, id_no=None)
        session.flush()
        opened.append(open_case(session, rating))
    _, token = user_tokens.create_token(session, handler, tag)
    _, key = create_key(session, f"{tag}-device", Channel.WINDOW_DEVICE, tag, datetime.now(timezone.utc))
    session.commit()
    tasks = list(session.scalars(select(HumanTask.id).where(HumanTask.department_id == dept.id)))
    return FuzzWorld(key, token, tasks, [case.case_no for case in opened], records)


@dataclass
class FuzzReport:
    requests: int = 0
    statuses: Counter[tuple[str, str, int]] = field(default_factory=Counter)  # (operation, mode, status)
    failures: list[str] = field(default_factory=list)
    invalid_accepted: int = 0  # schema-violating requests (or ratings of a batch) that were taken
    unsatisfiable: list[str] = field(default_factory=list)

    def by_status(self) -> Counter[int]:
        counts: Counter[int] = Counter()
        for (_op, _mode, status), n in self.statuses.items():
            counts[status] += n
        return counts

    def negative_answered_2xx(self) -> int:
        """Schema-violating requests answered 2xx: batches judged rating by rating (each
        checked by ``_batch_problems``); anything else is a failure too."""
        return sum(n for (_op, mode, status), n in self.statuses.items() if mode == "negative" and 200 <= status < 300)


def load_schema(app: Flask) -> Any:
    config = SchemathesisConfig.from_dict({
        "checks": {"negative_data_rejection": {"expected-statuses": REJECTED}},
        "generation": {"with-security-parameters": False, "allow-extra-parameters": False}})
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)


def _point_at_real_objects(case: Any, world: FuzzWorld, rng: random.Random) -> None:
    path = case.operation.path
    if "task_id" in (case.path_parameters or {}) and world.task_ids and rng.random() < 0.7:
        case.path_parameters["task_id"] = rng.choice(world.task_ids)
        if path.endswith("/complete") and rng.random() < 0.4:
            case.body = {"solved_on_spot": False}  # the form of the cases' first task (triage)
    if "case_no" in (case.path_parameters or {}) and rng.random() < 0.7:
        case.path_parameters["case_no"] = rng.choice(world.case_nos)
    if path == "/api/v1/evaluations" and isinstance(case.body, dict):
        items = case.body["evaluations"] if isinstance(case.body.get("evaluations"), list) else [case.body]
        for item in items:
            if isinstance(item, dict) and rng.random() < 0.6:
                item.update(rng.choice(world.records))
                now = datetime.now(timezone.utc)
                item["evaluated_at"] = (now - timedelta(minutes=rng.randrange(1, 600))).isoformat()
                for name in ("evaluator", "staff_no", "follow_up"):  # rarely valid when generated
                    if rng.random() < 0.8:
                        item.pop(name, None)
                if isinstance(item.get("comment"), str) and not item["comment"].isprintable():
                    item["comment"] = "窗口排队时间较长"


def _headers(case: Any, world: FuzzWorld) -> dict[str, str]:
    secret = world.api_key if case.operation.path == "/api/v1/evaluations" else world.user_token
    return {"Authorization": f"Bearer {secret}"}


def fuzz(app: Flask, world: FuzzWorld, *, examples: int, seed_value: int,
         modes: tuple[GenerationMode, ...] = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
         operations: list[str] | None = None, report: FuzzReport | None = None) -> FuzzReport:
    """``examples`` generated requests per operation and mode."""
    report = report or FuzzReport()
    schema = load_schema(app)
    for result in schema.get_all_operations():
        operation = result.ok()
        if operations is not None and operation.label not in operations:
            continue
        for mode in modes:
            _fuzz_operation(app, operation, mode, world, examples, seed_value, report)
    return report


def _fuzz_operation(app: Flask, operation: Any, mode: GenerationMode, world: FuzzWorld, examples: int,
                    seed_value: int, report: FuzzReport) -> None:
    strategy = operation.as_strategy(generation_mode=mode)

    @seed(seed_value)
    @settings(max_examples=examples, database=None, deadline=None, derandomize=False, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @given(case=strategy, salt=st.integers(0, 2**32 - 1))
    def run(case: Any, salt: int) -> None:
        if mode.is_positive:
            _point_at_real_objects(case, world, random.Random(salt))
        report.requests += 1
        label = f"{operation.method.upper()} {operation.path}"
        try:
            response = case.call(headers=_headers(case, world))
        except Exception as error:  # noqa: BLE001 - the test app propagates what would be a 500
            report.statuses[(label, mode.value, 500)] += 1
            report.failures.append(f"{label} [{mode.value}] raised {type(error).__name__}: {str(error)[:300]}")
            return
        report.statuses[(label, mode.value, response.status_code)] += 1
        batch = mode.is_negative and response.status_code == 200 and isinstance(case.body, dict) \
            and isinstance(case.body.get("evaluations"), list)
        problems = []
        try:
            case.validate_response(response, checks=CHECKS[:2] if batch else CHECKS)
        except FailureGroup as failed:
            titles = sorted({f.title for f in failed.exceptions})
            report.invalid_accepted += any("accepted" in title for title in titles)
            problems.append("; ".join(titles))
        if batch:
            taken = _batch_problems(case.body, response.json()["results"])
            report.invalid_accepted += bool(taken)
            problems += taken
        if problems:
            meta = case.meta.phase.data if case.meta is not None else None
            what = getattr(meta, "description", None) or ""
            report.failures.append(f"{label} [{mode.value}] → {response.status_code}: {'; '.join(problems)} {what}\n"
                                   f"    {case.as_curl_command()[:600]}\n    answer: {response.text[:300]}")

    try:
        run()
    except Unsatisfiable:  # nothing in the operation can be made invalid (a lone integer path id)
        report.unsatisfiable.append(f"{operation.method.upper()} {operation.path} [{mode.value}]")


def _batch_problems(body: dict[str, Any], results: list[dict[str, Any]]) -> list[str]:
    """A negative batch answered 200: what was stored must fit the schema."""
    items = body["evaluations"]
    stored = [n for n, result in enumerate(results) if result["status"] != "invalid"]
    if len(results) != len(items):
        return [f"{len(items)} ratings sent, {len(results)} results"]
    if stored and (set(body) != {"evaluations"} or not 1 <= len(items) <= MAX_BATCH):
        return ["a batch breaking the batch rules was accepted"]
    return [f"rating {n} violates the schema but was answered {results[n]['status']}"
            for n in stored if not RATING.is_valid(items[n])]


@contextmanager
def generous_rate_limit(app: Flask) -> Iterator[None]:
    """The fuzzer sends far more than the per-key limit allows in a minute."""
    from app.extensions import limiter

    enabled = limiter.enabled
    limiter.enabled = False
    try:
        yield
    finally:
        limiter.enabled = enabled
