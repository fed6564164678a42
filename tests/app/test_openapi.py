"""GET /api/v1/openapi.json describes the API truthfully: requests generated from the
described schema get a documented status with a body of the documented shape, and requests
that break the schema are never accepted."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from sqlalchemy.orm import Session

from app.api.openapi import document, rating_schema
from app.api.openapi_tasks import paths as task_paths

from .test_intake_api import Source

SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid for ``schema``, for the subset of JSON Schema the description uses
    (objects, strings with enum/pattern/length/date-time, integers, booleans, arrays, oneOf)."""
    if "oneOf" in schema:
        return st.one_of(*(from_schema(option) for option in schema["oneOf"]))
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of(*(from_schema({**schema, "type": k}) for k in kind))
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum", -(2**31)), schema.get("maximum", 2**31))
    if kind == "string":
        if schema.get("format") == "date-time":
            return st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True).filter(
                lambda v: schema.get("minLength", 0) <= len(v) <= schema.get("maxLength", 10**6))
        return st.text(min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 40), 40))
    if kind == "array":
        items = from_schema(schema["items"])
        return st.lists(items, max_size=schema.get("maxItems", 5), unique=schema.get("uniqueItems", False))
    if kind == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {k: from_schema(v) for k, v in properties.items() if k in required},
            optional={k: from_schema(v) for k, v in properties.items() if k not in required})
    raise ValueError(f"schema not covered by the test generator: {schema}")


def resolve(schema: Any, doc: dict[str, Any]) -> Any:
    """The schema with its #/components references replaced by what they name."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            _, _, path = schema["$ref"].partition("#/")
            node: Any = doc
            for part in path.split("/"):
                node = node[part]
            return resolve(node, doc)
        return {key: resolve(value, doc) for key, value in schema.items()}
    if isinstance(schema, list):
        return [resolve(item, doc) for item in schema]
    return schema


DOC = document()
OPERATION = DOC["paths"]["/api/v1/evaluations"]["post"]
RESPONSES = {int(code): resolve(r["content"]["application/json"]["schema"], DOC)
             for code, r in OPERATION["responses"].items()}


@pytest.fixture
def source(session: Session) -> Source:
    return Source(session)


def check_answer(response: Any) -> None:
    assert response.status_code in RESPONSES, f"undocumented status {response.status_code}"
    Draft202012Validator(RESPONSES[response.status_code]).validate(response.get_json())


def test_the_description_is_served_and_valid(client: FlaskClient) -> None:
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200 and served.get_json() == DOC
    for schema in DOC["components"]["schemas"].values():
        Draft202012Validator.check_schema(resolve(schema, DOC))
    assert set(DOC["paths"]) == {"/api/v1/evaluations", *task_paths()}


def test_documented_examples_get_documented_answers(client: FlaskClient, source: Source) -> None:
    good = source.rating()
    Draft202012Validator(resolve(rating_schema(), DOC)).validate(good)
    headers = source.headers()
    for body, status in ((good, 201), (good, 200), ({"evaluations": [source.rating(id="b-1", level=1)]}, 200),
                         (source.rating(id="x", level="很好"), 422)):
        response = client.post("/api/v1/evaluations", json=body, headers=headers)
        assert response.status_code == status
        check_answer(response)
    check_answer(client.post("/api/v1/evaluations", json=good))  # 401


@SETTINGS
@given(body=from_schema(rating_schema()))
def test_requests_from_the_schema_get_documented_answers(client: FlaskClient, source: Source,
                                                         body: dict[str, Any]) -> None:
    Draft202012Validator(resolve(rating_schema(), DOC)).validate(body)  # the generator is right
    response = client.post("/api/v1/evaluations", json=body, headers=source.headers())
    assert response.status_code != 500
    check_answer(response)


@SETTINGS
@given(body=st.one_of(
    st.dictionaries(st.text(max_size=12), st.one_of(st.none(), st.integers(), st.text(max_size=20)), max_size=6),
    st.lists(st.integers(), max_size=3), st.integers(), st.text(max_size=20)))
def test_requests_against_the_schema_are_never_accepted(client: FlaskClient, source: Source, body: Any) -> None:
    if Draft202012Validator(resolve(rating_schema(), DOC)).is_valid(body):
        return  # an arbitrary value may happen to be a valid rating; the other test covers those
    response = client.post("/api/v1/evaluations", json=body, headers=source.headers())
    assert response.status_code in (400, 413, 422), response.get_json()
    check_answer(response)
