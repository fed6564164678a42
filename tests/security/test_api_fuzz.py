"""schemathesis against the API's OpenAPI description, in process: every operation, requests
that fit the schema and requests that do not, a fixed seed; no 5xx, every documented answer
fits its schema, and no request that violates the schema is accepted. (The long run with
tens of thousands of requests is ``bench/fuzz_api.py``.)"""

from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session

from app.services import calendar_years
from workflows.clock import ManualClock

from .api_fuzzing import fuzz, generous_rate_limit, load_schema, make_world

EXAMPLES = 25  # per operation and mode: 6 operations × 2 modes × 25 = 300 requests


def test_the_description_covers_every_api_route(app: Flask) -> None:
    schema = load_schema(app)
    described = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    routed = {(method, rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}"))
              for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi"
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert described == routed


def test_fuzzed_requests_get_no_server_error_and_no_acceptance_of_invalid_data(
        app: Flask, session: Session, clock: ManualClock) -> None:
    calendar_years.reset_calendar()
    world = make_world(session)
    with generous_rate_limit(app):
        report = fuzz(app, world, examples=EXAMPLES, seed_value=20261129)
    assert report.requests >= 250
    statuses = report.by_status()
    assert not report.failures, "\n".join(report.failures[:20])
    assert not any(status >= 500 for status in statuses)
    assert report.invalid_accepted == 0
    assert statuses[200] and (statuses[422] or statuses[400]), statuses  # accepted and refused requests both
