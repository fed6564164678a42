"""A new installation before its first case: no process version is deployed yet, and the
inbox and the task API still know the tasks of the shipped process (which the first case
deploys as version 1): filtering by one is an empty list, not a field error. Found by the
load test (bench/load_test.py), whose first requests came before the first case."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Role
from app.services import user_tokens
from workflows.tables import Deployment

from . import factories
from .case_support import signed_in


def test_the_task_filter_knows_the_shipped_tasks_before_the_first_case(app: Flask, session: Session) -> None:
    handler = factories.user(session, "fresh.h1", [Role.HANDLER], factories.department(session))
    _, token = user_tokens.create_token(session, handler, "phone")
    session.commit()
    assert session.scalar(select(func.count()).select_from(Deployment)) == 0
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for task in ("triage", "file_record", "decide_appeal"):  # bad_review's, and its call activities'
        answer = api.get(f"/api/v1/tasks?tab=department&task={task}", headers=headers)
        assert answer.status_code == 200 and answer.get_json()["tasks"] == [], answer.get_json()
    unknown = api.get("/api/v1/tasks?task=no_such_task", headers=headers)
    assert unknown.status_code == 422 and "task" in unknown.get_json()["errors"]
    page = signed_in(app, "fresh.h1").get("/inbox?task=triage")
    assert page.status_code == 200
    assert session.scalar(select(func.count()).select_from(Deployment)) == 0  # reading deployed nothing
