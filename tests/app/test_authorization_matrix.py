"""Every route × every role (and anonymous): who is let in and who is turned away.

The table below names, for each endpoint, which roles it serves. Every registered route
must be in it, so a new route cannot slip in unchecked. Each request carries a valid CSRF
token of its own session (the CSRF check is tested elsewhere), real objects where a route
takes an id (a case of the handlers' department, its open task, a notification, a saved
filter, a user, a department, an item, a token, evidence), and no form data: what is
checked is only whether the role gets past the door.

- served:  not 401/403/404 and not sent to the login page
- denied:  401, 403 or 404 (404 where even the existence is not to be revealed)
- anonymous: sent to the login page (pages) or 401 (API), except the public routes
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Department, EvidenceFile, Notification, Role, SavedFilter, ServiceItem, User
from app.services import user_tokens
from workflows.clock import ManualClock
from workflows.tables import HumanTask

from .case_support import anonymous, real_name_case, signed_in
from .test_cases import District, district  # noqa: F401

PUBLIC = "public"
SIGNED_IN = "signed_in"
H, L, V, S, D, A, ADM, OUT = ("handler", "lead", "verifier", "supervisor", "designer", "auditor", "admin", "outsider")
ALL_ROLES = (H, L, V, S, D, A, ADM, OUT)
CASE_READERS = {H, L, S, A}  # the handling department, supervision and audit (case_access)

# endpoint -> roles served (PUBLIC: also anonymous; SIGNED_IN: every signed-in user)
ACCESS: dict[str, set[str] | str] = {
    "main.home": SIGNED_IN, "main.healthz": PUBLIC, "auth.login": PUBLIC, "auth.logout": SIGNED_IN,
    "auth.change_password": SIGNED_IN,
    **{e: {ADM} for e in ("admin.users", "admin.new_user", "admin.edit_user", "admin.reset_password",
                          "admin.revoke_token", "admin.departments", "admin.edit_department", "admin.items",
                          "admin.edit_item", "records.outbox", "records.retry", "records.imports",
                          "records.import_report")},
    **{e: {A, S} for e in ("audit.index", "audit.log", "audit.case", "audit.replay_json", "audit.verify",
                           "audit.export")},
    "cases.show": CASE_READERS, "cases.diagram": CASE_READERS,
    "cases.verifier_queue": {V}, "cases.verifier_claim": set(),  # the task used is not a verifier's
    "supervision.board": {S}, "supervision.urge": {S},
    # one's own notifications only: the one used here is the handler's
    "notifications.index": SIGNED_IN, "notifications.read": {H}, "notifications.read_all": SIGNED_IN,
    "work.inbox": {H, L, V, S, OUT}, "work.save_inbox_filter": {H, L, V, S, OUT},
    "work.delete_inbox_filter": {H},  # the filter's owner
    "work.task": CASE_READERS, "work.claim": CASE_READERS, "work.unclaim": CASE_READERS,
    "work.reassign": CASE_READERS, "work.add_comment": CASE_READERS, "work.upload_evidence": CASE_READERS,
    "work.evidence": CASE_READERS,
    **{e: {D, A, ADM} for e in ("designer.library", "designer.diff", "designer.download")},
    **{e: {D} for e in ("designer.migration", "designer.editor", "designer.act", "designer.draft_diff", "designer.save_form",
                        "designer.preview_form", "designer.save", "designer.draft_xml", "designer.new_draft",
                        "designer.upload", "designer.migrate")},
    **{e: {S, A, ADM, L} for e in ("reports.index", "reports.export", "reports.dashboard", "reports.dashboard_json")},
    **{e: {S, A, ADM} for e in ("reports.bulletin_list", "reports.bulletin", "reports.bulletin_file")},
    "reports.generate": {S, ADM},
}
# The JSON API authenticates with tokens, not sessions.
# Auditors read cases but work no tasks.
API = {"api.get_tasks": {H, L, V, S, OUT}, "api.get_case": CASE_READERS, "api.claim_task": CASE_READERS - {A},
       "api.unclaim_task": CASE_READERS - {A}, "api.complete_task": CASE_READERS - {A}}
# Routes whose object (a bulletin, an import report, a draft) may not exist here: a 404 for
# a role that is let in is the object's absence, not a refusal.
OBJECT_MAY_BE_MISSING = {"reports.bulletin", "reports.bulletin_file", "records.import_report", "designer.editor",
                         "designer.act", "designer.draft_diff", "designer.save_form", "designer.preview_form",
                         "designer.save", "designer.draft_xml"}
API_OWN_AUTH = {"api.post_evaluations", "api.openapi"}  # a source's API key; the public description


@dataclass
class World:
    users: dict[str, User]
    values: dict[str, object]


@pytest.fixture
def world(app: Flask, session: Session, district: District, clock: ManualClock) -> World:
    stored = Path(app.instance_path) / "evidence" / "00" / ("0" * 64)
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_bytes(b"%PDF")
    case = real_name_case(session, district, clock)
    task = session.scalar(select(HumanTask).where(HumanTask.instance_id == case.instance_id))
    users = {H: district.h1, L: district.lead, V: district.v1, S: district.supervisor, A: district.auditor,
             OUT: district.outsider,
             D: _user(session, "designer.one", Role.DESIGNER), ADM: _user(session, "admin.one", Role.ADMIN)}
    evidence = EvidenceFile(case_id=case.id, task_id=task.id, uploaded_by=district.h1.id, filename="证据.pdf",
                            content_type="application/pdf", size=4, sha256="0" * 64, created_at=clock.now())
    saved = SavedFilter(owner_id=district.h1.id, name="逾期", query={"overdue": "1"}, created_at=clock.now())
    session.add_all([evidence, saved])
    token, _ = user_tokens.create_token(session, district.h1, "phone")
    session.commit()
    notification = session.scalar(select(Notification).where(Notification.user_id == district.h1.id))
    values = {"case_no": case.case_no, "task_id": task.id, "evidence_id": evidence.id, "filter_id": saved.id,
              "notification_id": notification.id if notification else 1, "user_id": district.h1.id,
              "token_id": token.id, "department_id": district.dept.id,
              "item_id": session.scalar(select(ServiceItem.id).limit(1)), "version": 1,
              "file_name": "bad_review.bpmn", "draft_id": 9999, "action": "submit", "month": "2026-09",
              "fmt": "csv", "name": "0" * 32}
    return World(users, values)


def _user(session: Session, name: str, role: Role) -> User:
    from . import factories

    return factories.user(session, name, [role])


def _routes(app: Flask) -> list[tuple[str, str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, rule.rule))
    return sorted(found)


def _path(rule: str, values: dict[str, object]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[-1]
        if name.startswith("any("):
            return "submit"
        return str(values[name])
    return re.sub(r"<([^>]+)>", fill, rule)


def test_every_route_is_in_the_table(app: Flask) -> None:
    missing = {e for e, _m, _r in _routes(app)} - set(ACCESS) - set(API) - API_OWN_AUTH
    assert not missing, f"routes without an access rule: {sorted(missing)}"


def _denied(status: int) -> bool:
    return status in (401, 403, 404)


def _to_login(response: object) -> bool:
    return response.status_code == 302 and "/login" in response.headers.get("Location", "")  # type: ignore[attr-defined]


@pytest.mark.parametrize("who", ["anonymous", *ALL_ROLES])
def test_pages_let_in_exactly_their_roles(app: Flask, world: World, who: str) -> None:
    client = anonymous(app) if who == "anonymous" else signed_in(app, world.users[who].username)
    token_page = "/login" if who == "anonymous" else "/account/password"
    from .conftest import csrf_token

    token = csrf_token(client, token_page)
    wrong = []
    for endpoint, method, rule in _routes(app):
        if endpoint in API or endpoint in API_OWN_AUTH or endpoint == "auth.logout":
            continue
        rule_access = ACCESS[endpoint]
        path = _path(rule, world.values)
        response = client.get(path) if method == "GET" else client.post(path, data={"csrf_token": token})
        status = response.status_code
        if rule_access == PUBLIC:
            ok = not _denied(status)
        elif who == "anonymous":
            ok = _to_login(response)
        elif rule_access == SIGNED_IN or who in rule_access:
            ok = (not _denied(status) or (status == 404 and endpoint in OBJECT_MAY_BE_MISSING)) \
                and not _to_login(response)
        else:
            ok = _denied(status)
        if not ok:
            wrong.append(f"{method} {path} ({endpoint}) → {status}")
    assert not wrong, f"{who}: " + "; ".join(wrong)


@pytest.mark.parametrize("who", ["anonymous", *ALL_ROLES])
def test_the_task_api_lets_in_exactly_its_roles(app: Flask, session: Session, world: World, who: str) -> None:
    headers = {}
    if who != "anonymous":
        _, plaintext = user_tokens.create_token(session, world.users[who], "matrix")
        session.commit()
        headers = {"Authorization": f"Bearer {plaintext}"}
    client = anonymous(app)
    wrong = []
    for endpoint, method, rule in _routes(app):
        if endpoint not in API:
            continue
        path = _path(rule, world.values)
        response = client.get(path, headers=headers) if method == "GET" else client.post(path, json={}, headers=headers)
        status = response.status_code
        ok = status == 401 if who == "anonymous" else (not _denied(status) if who in API[endpoint] else _denied(status))
        if not ok:
            wrong.append(f"{method} {path} → {status}")
    assert not wrong, f"{who}: " + "; ".join(wrong)
