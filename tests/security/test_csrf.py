"""CSRF: every POST route of the web UI (taken from the url_map, as the authorization matrix
does) refuses a request without a token, with a wrong token and with another session's token,
and writes nothing. The user posting is one the route serves, so the refusal is the CSRF
check's and not the role check's. The JSON API is exempt (bearer tokens, no cookies)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models.base import Base

from ..app.case_support import anonymous, signed_in
from ..app.conftest import csrf_token
from ..app.test_authorization_matrix import ACCESS, H, PUBLIC, SIGNED_IN, V, World, _path, _routes

# The role that posts to each route: one the route serves (the matrix's table), so that
# only the CSRF check stands in the way.
PREFERRED = ("handler", "designer", "admin", "supervisor", "auditor", "lead", "verifier", "outsider")


def _poster(endpoint: str) -> str | None:
    """None for anonymous (the public routes)."""
    access = ACCESS[endpoint]
    if access == PUBLIC:
        return None
    if access == SIGNED_IN:
        return H
    if not access:  # served to no role with the matrix's objects: a verifier is the one it is for
        return V
    return next(role for role in PREFERRED if role in access)


def _post_routes(app: Flask) -> list[tuple[str, str]]:
    return [(endpoint, rule) for endpoint, method, rule in _routes(app)
            if method == "POST" and not endpoint.startswith("api.")]


def _row_counts(session: Session) -> dict[str, int]:
    session.expire_all()
    return {table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables}


def _client(app: Flask, world: World, who: str | None) -> FlaskClient:
    return anonymous(app) if who is None else signed_in(app, world.users[who].username)


def test_every_web_post_route_is_checked(app: Flask) -> None:
    routes = {endpoint for endpoint, _ in _post_routes(app)}
    assert len(routes) >= 30 and {"auth.login", "auth.logout", "work.upload_evidence", "designer.upload",
                                  "admin.new_user", "supervision.urge"} <= routes


@pytest.mark.parametrize("token", ["missing", "wrong", "another session's"])
def test_a_post_without_a_valid_token_is_refused_and_writes_nothing(app: Flask, session: Session, world: World,
                                                                    token: str) -> None:
    routes = _post_routes(app)
    clients = {who: _client(app, world, who) for who in {_poster(endpoint) for endpoint, _ in routes}}
    foreign = csrf_token(anonymous(app), "/login")  # valid, but for another session
    before = _row_counts(session)
    wrong = []
    for endpoint, rule in routes:
        who = _poster(endpoint)
        client = clients[who]
        data = {"csrf_token": {"missing": None, "wrong": "x" + foreign[1:],
                               "another session's": foreign}[token]}
        data = {key: value for key, value in data.items() if value is not None}
        # Plausible form fields, so that only the token is missing.
        data.update({"body": "意见", "name": "筛选", "message": "请尽快办理督办事项", "username": world.users[H].username,
                     "password": "Correct-horse-42", "note": "说明", "comment": "意见"})
        path = _path(rule, world.values)
        response = client.post(path, data=data)
        if response.status_code != 400 or "CSRF" not in response.get_data(as_text=True):
            wrong.append(f"{path} ({endpoint}, as {who or 'anonymous'}) → {response.status_code}")
    assert not wrong, "accepted without a valid CSRF token: " + "; ".join(wrong)
    assert _row_counts(session) == before


def test_a_json_post_of_the_designer_needs_the_token_in_its_header(app: Flask, session: Session,
                                                                    world: World) -> None:
    designer = signed_in(app, world.users["designer"].username)
    response = designer.post("/designer/drafts/1/save", json={"revision": 1, "xml": "<x/>"})
    assert response.status_code == 400
    response = designer.post("/designer/drafts/1/save", json={"revision": 1, "xml": "<x/>"},
                             headers={"X-CSRFToken": "forged"})
    assert response.status_code == 400


def test_the_api_needs_no_token_but_refuses_a_session_cookie_alone(app: Flask, session: Session,
                                                                   world: World) -> None:
    """The API is exempt from CSRF because it authenticates with a bearer token, never with
    the session cookie: a signed-in browser's cookie gets nothing from it."""
    browser = signed_in(app, world.users[H].username)
    assert browser.get("/api/v1/tasks").status_code == 401
    assert browser.post(f"/api/v1/tasks/{world.values['task_id']}/claim").status_code == 401
    assert browser.post("/api/v1/evaluations", json={}).status_code == 401
