"""SQL injection and hostile values in every filter and search parameter — the inbox (page
and task API), the audit log and case lookup, the outbox, the administrator's lists, reports
and bulletins, the supervision board, notifications, the designer's diff — and in the path
parameters that name a case or a month: each answers a normal page or a field error (400,
404, 422), never a 500, and an injection finds nothing it should not (a search for
``' OR '1'='1`` or ``%`` lists no rows)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.services import user_tokens
from app.services.audit_log import log_action

from ..app.case_support import signed_in
from ..app.test_authorization_matrix import World

INJECTIONS = [
    "' OR '1'='1", "1 OR 1=1", "1; DROP TABLE user_account;--", "') UNION SELECT username, password_hash FROM user_account--",
    "%' --", "%", "_", "\\", "\\%", "'", '"', "`", "$$", "1' AND pg_sleep(5)--", "1 AND randomblob(1000000000)",
    "admin'/*", "*/", "${jndi:x}", "{{7*7}}", "a\x00b", "\x00", "😀", "%00", "%27", "\u202e", "\ufeff1",
]
NUMBERS = ["-1", "0", "1.5", "1e3", "0x10", " 1", "+1", "99999999999999999999", "9" * 5000, "²", "٣", "１", "NaN"]
DATES = ["2026-02-30", "9999-12-31", "0001-01-01", "2026-13-01", "20261001", "2026-1-1", "2026-10-01T00:00"]
LONG = ["A" * 10_000]
HOSTILE = INJECTIONS + NUMBERS + DATES + LONG

# path -> (the role that may see it, its parameters)
FILTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "/inbox": ("handler", ("tab", "task", "stage", "item", "overdue", "date_field", "date_from", "date_to", "sort",
                           "dir", "page", "per_page")),
    "/audit/log": ("auditor", ("action", "actor", "target", "date_from", "date_to", "page")),
    "/audit/": ("auditor", ("case_no",)),
    "/admin/outbox": ("admin", ("state", "kind", "stream", "page")),
    "/admin/users": ("admin", ("q", "page")),
    "/admin/departments": ("admin", ("q", "page")),
    "/admin/items": ("admin", ("q", "page")),
    "/admin/imports": ("admin", ("page",)),
    "/reports": ("supervisor", ("month", "start", "end", "group", "department")),
    "/reports/export.csv": ("supervisor", ("month", "start", "end", "group", "department")),
    "/reports/dashboard.json": ("supervisor", ("month", "department")),
    "/reports/bulletins/2026-09": ("supervisor", ("revision",)),
    "/supervision": ("supervisor", ("page",)),
    "/notifications": ("handler", ("page",)),
    "/verify": ("verifier", ("page",)),
    "/designer/diff": ("designer", ("file", "old", "new")),
    "/designer/versions/1/migration": ("designer", ("file", "instance", "page")),
}
PATHS: dict[str, str] = {  # a path with a hostile value in place of {}, and who asks
    "/cases/{}": "handler", "/cases/{}/diagram.json": "handler", "/audit/cases/{}": "auditor",
    "/audit/cases/{}/replay.json": "auditor", "/supervision/cases/{}/urge": "supervisor",
    "/reports/bulletins/{}": "supervisor", "/reports/bulletins/{}.pdf": "supervisor",
    "/designer/versions/1/files/{}": "designer", "/admin/imports/reports/{}.csv": "admin",
    # ids: anything but a whole number a database id can hold is no route at all (404)
    "/tasks/{}": "handler", "/evidence/{}": "handler", "/admin/users/{}": "admin", "/designer/drafts/{}": "designer",
    "/designer/versions/{}/migration": "designer",
}
BASE = {  # parameters a page needs besides the one under test
    "/designer/diff": {"file": "bad_review.bpmn", "old": "1", "new": "1"},
    "/designer/versions/1/migration": {"file": "bad_review.bpmn"},
}
FINE = {200, 400, 404, 422}


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def _probe(client: FlaskClient, path: str, **kwargs: object) -> int | str:
    """The status, or the exception a 500 would have answered (the test app propagates it)."""
    try:
        return client.get(path, **kwargs).status_code
    except Exception as error:  # noqa: BLE001 - any exception here is the finding
        return f"500 ({type(error).__name__}: {str(error)[:80]})"


@pytest.fixture
def clients(app: Flask, world: World) -> dict[str, FlaskClient]:
    return {who: signed_in(app, world.users[who].username)
            for who in {who for who, _ in FILTERS.values()} | set(PATHS.values())}


def test_no_filter_parameter_breaks_a_page(clients: dict[str, FlaskClient], world: World) -> None:
    wrong = []
    for path, (who, names) in FILTERS.items():
        client = clients[who]
        base = BASE.get(path, {})
        assert _probe(client, path, query_string=base) == (404 if "bulletins/" in path else 200), path  # no bulletin yet
        for name in names:
            for value in HOSTILE:
                status = _probe(client, path, query_string={**base, name: value})
                if status not in FINE:
                    wrong.append(f"{who} GET {path}?{name}={value[:30]!r} → {status}")
    assert not wrong, "\n".join(wrong)


def test_no_path_parameter_breaks_a_page(clients: dict[str, FlaskClient]) -> None:
    wrong = []
    for template, who in PATHS.items():
        for value in HOSTILE:
            if value in ("", "\x00", "a\x00b"):
                continue  # not a path segment a client can send
            path = template.format(_quote(value))
            status = _probe(clients[who], path)
            if status not in FINE | {308}:  # an encoded "/" makes werkzeug redirect to the plain path
                wrong.append(f"{who} GET {template.format(value[:30])!r} → {status}")
    assert not wrong, "\n".join(wrong)


def test_the_task_api_filters_answer_field_errors(app: Flask, session: Session, world: World) -> None:
    _, token = user_tokens.create_token(session, world.users["handler"], "sqli")
    session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    wrong = []
    for name in FILTERS["/inbox"][1]:
        for value in HOSTILE:
            try:
                response = client.get("/api/v1/tasks", query_string={name: value}, headers=headers)
            except Exception as error:  # noqa: BLE001 - any exception here is the finding
                wrong.append(f"?{name}={value[:30]!r} → 500 ({type(error).__name__})")
                continue
            nul = "\x00" in value  # refused before the view: 400 (app/request_guard.py)
            if response.status_code != (400 if nul else 200) and not (
                    response.status_code == 422 and name in response.get_json()["errors"]):
                wrong.append(f"?{name}={value[:30]!r} → {response.status_code}")
    for value in HOSTILE:
        if "\x00" in value:
            continue
        status = _probe(client, f"/api/v1/cases/{_quote(value)}", headers=headers)
        if status not in (404, 308):
            wrong.append(f"/api/v1/cases/{value[:30]!r} → {status}")
    assert not wrong, "\n".join(wrong)


NOTHING = ["' OR '1'='1", "1 OR 1=1", "%", "_", "%' --", "') UNION SELECT username, password_hash FROM user_account--"]


def test_an_injected_search_finds_nothing(app: Flask, session: Session, clients: dict[str, FlaskClient],
                                         world: World) -> None:
    handler = world.users["handler"]
    log_action(session, "user_created", actor="admin.one", target=handler.username, detail={})
    session.commit()
    admin, auditor = clients["admin"], clients["auditor"]
    # Control: a plain search finds the row, so "absent" below means "not matched".
    assert handler.username in admin.get("/admin/users", query_string={"q": handler.username}).get_data(as_text=True)
    assert handler.username in auditor.get("/audit/log", query_string={"target": handler.username}).get_data(as_text=True)
    department = world.users["handler"].department
    assert department.name in admin.get("/admin/departments", query_string={"q": department.name[:4]}).get_data(as_text=True)
    leaked = []
    for value in NOTHING:
        users = admin.get("/admin/users", query_string={"q": value}).get_data(as_text=True)
        if handler.username in users or "$pbkdf2" in users or "scrypt:" in users:
            leaked.append(f"/admin/users?q={value!r}")
        if department.name in admin.get("/admin/departments", query_string={"q": value}).get_data(as_text=True):
            leaked.append(f"/admin/departments?q={value!r}")
        for name in ("actor", "target"):
            log = auditor.get("/audit/log", query_string={name: value}).get_data(as_text=True)
            if f">{handler.username}<" in log:
                leaked.append(f"/audit/log?{name}={value!r}")
        outbox = admin.get("/admin/outbox", query_string={"stream": value, "state": "waiting"}).get_data(as_text=True)
        if world.values["case_no"] in outbox:
            leaked.append(f"/admin/outbox?stream={value!r}")
    assert not leaked, leaked


def test_nul_in_what_is_posted_is_refused_not_a_500(app: Flask, session: Session, clients: dict[str, FlaskClient],
                                                    world: World) -> None:
    """PostgreSQL text cannot hold U+0000: forms (URL-encoded or multipart) and JSON bodies
    carrying one are refused with 400 or a field error, and nothing is stored."""
    import io

    from app.services.engine_runtime import current_deployment

    from ..app.case_support import anonymous
    from ..app.conftest import csrf_token
    from ..app.test_intake_api import Source

    current_deployment(session)
    source = Source(session)
    _, token = user_tokens.create_token(session, world.users["handler"], "nul")
    session.commit()
    login = anonymous(app)
    answers: dict[str, int | str] = {}

    def post(name: str, client: FlaskClient, path: str, **kwargs: object) -> None:
        try:
            answers[name] = client.post(path, **kwargs).status_code
        except Exception as error:  # noqa: BLE001 - the finding
            answers[name] = f"500 ({type(error).__name__}: {str(error)[:80]})"

    post("login", login, "/login", data={"username": "a\x00b", "password": "x", "csrf_token": csrf_token(login, "/login")})
    admin = clients["admin"]
    post("new user", admin, "/admin/users/new", data={
        "username": "nul.user", "display_name": "空\x00字符", "password": "Correct-horse-42", "confirm": "Correct-horse-42",
        "roles": "handler", "csrf_token": csrf_token(admin, "/admin/users/new")})
    designer = clients["designer"]
    post("upload note", designer, "/designer/drafts/upload", content_type="multipart/form-data", data={
        "file": (io.BytesIO((Path(__file__).parents[2] / "bpmn" / "recheck.bpmn").read_bytes()), "recheck.bpmn"),
        "note": "说明\x00", "csrf_token": csrf_token(designer, "/designer/")})
    opened = designer.post("/designer/drafts/new", data={"file_name": "recheck.bpmn",
                                                          "csrf_token": csrf_token(designer, "/designer/")})
    draft = opened.headers["Location"].rsplit("/", 1)[1]
    header = {"X-CSRFToken": csrf_token(designer, f"/designer/drafts/{draft}")}
    post("draft xml", designer, f"/designer/drafts/{draft}/save", json={"xml": "<x>\x00</x>", "revision": 1}, headers=header)
    post("draft note", designer, f"/designer/drafts/{draft}/save", json={
        "xml": (Path(__file__).parents[2] / "bpmn" / "recheck.bpmn").read_text(), "note": "\x00", "revision": 1},
        headers=header)
    api = app.test_client()
    for field in ("id", "comment", "staff_no"):
        post(f"intake {field}", api, "/api/v1/evaluations", headers=source.headers(),
             json=source.rating(**{"id": f"nul-{field}", field: "a\x00b"}))
    post("intake evaluator", api, "/api/v1/evaluations", headers=source.headers(),
         json=source.rating(id="nul-e", evaluator={"real_name": True, "name": "张\x00", "phone": "13812345678"}))
    bearer = {"Authorization": f"Bearer {token}"}
    task = world.values["task_id"]
    api.post(f"/api/v1/tasks/{task}/claim", headers=bearer)
    post("task form", api, f"/api/v1/tasks/{task}/complete", headers=bearer,
         json={"solved_on_spot": "true", "on_spot_measures": "当场\x00解决", "x\x00": 1})
    wrong = {name: status for name, status in answers.items() if status not in (400, 422)}
    assert not wrong, wrong
