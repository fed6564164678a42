"""XSS: every text a user enters that is shown again — a rating's comment, a task form's
text, case comments, evidence file names, saved filter names, urge messages, names entered
by the administrator (user, department, service item), a designer's draft note and form
labels — goes in through its own page (the rating comment through the intake API), and
then every page of every role is fetched: the markup never comes back live, and each text
is shown, escaped, on the pages that show it."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Case
from app.services import case_tasks
from app.services.engine_runtime import current_deployment
from workflows.clock import ManualClock

from ..app.case_support import anonymous, real_name_case, signed_in
from ..app.conftest import csrf_token
from ..app.test_authorization_matrix import ALL_ROLES, World, _path, _routes
from ..app.test_cases import District, open_task
from ..app.test_intake_api import Source

LIVE = re.compile(r"<i id=xss-", re.IGNORECASE)  # the payload's markup, unescaped


def payload(field: str) -> str:
    """Closes an attribute with either quote, then opens an element; short enough for a
    30-character name."""
    return f"\"'><i id=xss-{field}>"


def shown(field: str) -> tuple[str, ...]:
    """How the payload reads once escaped: in HTML, and inside JSON in a script tag."""
    return (f"&lt;i id=xss-{field}&gt;", f"\\u003ci id=xss-{field}\\u003e")


class _Fields(HTMLParser):
    """The values a browser would send back with the form of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, list[str]] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self.values.setdefault(name, []).append(a.get("value", "y"))
            else:
                self.values.setdefault(name, []).append(a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.values.setdefault(name, [])
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self.values.setdefault(self._select, []).append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea].append(data)


def resubmit(client: FlaskClient, path: str, **changes: str) -> int:
    """Post the form on ``path`` as it is filled in, with ``changes``."""
    parser = _Fields()
    parser.feed(client.get(path).get_data(as_text=True))
    data: dict[str, list[str] | str] = {k: v for k, v in parser.values.items()}
    data.update(changes)
    return client.post(path, data=data).status_code


def _enter_everything(app: Flask, session: Session, world: World, district: District, clock: ManualClock) -> dict:
    h1 = signed_in(app, world.users["handler"].username)
    task_id = world.values["task_id"]
    # A rating's comment, through the intake API, on a case of the district's department.
    source = Source(session)
    source.dept.name = district.dept.name + "（来源）"
    session.commit()
    case_no = world.values["case_no"]
    case = session.scalar(select(Case).where(Case.case_no == case_no))
    intake = anonymous(app).post("/api/v1/evaluations", headers=source.headers(), json=source.rating(
        id="xss-1", level="不满意", comment=payload("comment"), dimensions=["服务效率"]))
    assert intake.status_code == 201, intake.get_json()
    case.rating.comment = payload("comment")  # and on the matrix's case, whose pages every role crawls
    session.commit()
    token = csrf_token(h1, f"/tasks/{task_id}")
    assert h1.post(f"/tasks/{task_id}/comments", data={"body": payload("note"), "csrf_token": token}).status_code == 302
    upload = h1.post(f"/tasks/{task_id}/evidence", content_type="multipart/form-data", data={
        # browsers send a double quote in a file name as %22: only the single quote comes through
        "file": (io.BytesIO(b"%PDF-1.4 test"), payload("file").lstrip('"') + ".pdf"), "csrf_token": token})
    assert upload.status_code == 302
    assert "已上传" in h1.get(upload.headers["Location"]).get_data(as_text=True)
    saved = h1.post("/inbox/filters?overdue=1", data={"name": payload("filter"), "shared": "y", "csrf_token": token})
    assert saved.status_code == 302
    # A task form's text, on a second case worked through the task page.
    second = real_name_case(session, district, clock)
    triage = open_task(session, second)
    case_tasks.claim(session, triage.id, district.h1)
    session.commit()
    submitted = h1.post(f"/tasks/{triage.id}", data={"solved_on_spot": "y", "on_spot_measures": payload("measures"),
                                                     "csrf_token": csrf_token(h1, f"/tasks/{triage.id}")})
    assert submitted.status_code == 302, submitted.get_data(as_text=True)[:500]
    supervisor = signed_in(app, world.users["supervisor"].username)
    urge_path = f"/supervision/cases/{case_no}/urge"
    assert supervisor.post(urge_path, data={"message": payload("urge"),
                                            "csrf_token": csrf_token(supervisor, urge_path)}).status_code == 302
    admin = signed_in(app, world.users["admin"].username)
    assert resubmit(admin, f"/admin/users/{district.h2.id}", display_name=payload("user")) == 302
    assert resubmit(admin, f"/admin/departments/{district.dept.id}", name=payload("dept"),
                    short_name=payload("short")) == 302
    assert resubmit(admin, f"/admin/items/{case.rating.service_item_id}", name=payload("item")) == 302
    designer = signed_in(app, world.users["designer"].username)
    current_deployment(session)
    session.commit()
    opened = designer.post("/designer/drafts/new", data={"file_name": "recheck.bpmn", "note": payload("draft"),
                                                          "csrf_token": csrf_token(designer, "/designer/")})
    assert opened.status_code == 302
    draft_id = int(opened.headers["Location"].rsplit("/", 1)[1])
    definition = ('{"name": "xss_form", "title": "%s", "fields": [{"name": "a", "label": "%s", "type": "choice", '
                  '"help": "%s", "choices": [["x", "%s"]]}]}') % tuple(
        payload(f).replace('"', '\\"') for f in ("title", "label", "help", "choice"))
    preview = designer.post(f"/designer/drafts/{draft_id}/forms/preview", json={"name": "xss_form", "definition": definition},
                            headers={"X-CSRFToken": csrf_token(designer, f"/designer/drafts/{draft_id}")})
    assert preview.status_code == 200, preview.get_data(as_text=True)
    return {"second_case": second.case_no, "draft_id": draft_id, "preview": preview.get_data(as_text=True),
            "triage": triage.id, "intake_case": intake.get_json()["case_no"]}


def test_no_entered_text_comes_back_as_markup(app: Flask, session: Session, world: World, district: District,
                                             clock: ManualClock) -> None:
    extra = _enter_everything(app, session, world, district, clock)
    assert not LIVE.search(extra["preview"])
    for field in ("title", "label", "help", "choice"):
        assert shown(field)[0] in extra["preview"], field
    pages: dict[str, str] = {}
    extra_paths = [f"/cases/{extra['second_case']}", f"/cases/{extra['intake_case']}",
                   f"/audit/cases/{extra['intake_case']}", f"/tasks/{extra['triage']}", f"/audit/cases/{extra['second_case']}",
                   f"/designer/drafts/{extra['draft_id']}", "/inbox?tab=department", "/inbox?overdue=1",
                   "/reports?month=2026-09", "/admin/users?q=xss", "/verify", "/audit/log?target=" + world.values["case_no"]]
    for who in ALL_ROLES:
        client = signed_in(app, world.users[who].username)
        paths = [_path(rule, world.values) for _e, method, rule in _routes(app) if method == "GET"] + extra_paths
        for path in paths:
            response = client.get(path)
            if response.status_code == 200 and response.mimetype in ("text/html", "application/json"):
                pages[f"{who} {path}"] = response.get_data(as_text=True)
    # JSON feeds carry the text as data (served as application/json with nosniff; the
    # scripts that read them set textContent, and ECharts escapes names in its tooltips).
    live = sorted(where for where, text in pages.items() if LIVE.search(text) and not where.endswith(".json"))
    assert not live, f"markup came back live on: {live}"
    expected = {  # where each text must be seen (escaped): proof that the crawl reached it
        "comment": ["handler /cases/", "handler /tasks/", "auditor /cases/",
                    f"supervisor /cases/{extra['intake_case']}"],
        "note": ["handler /tasks/", "lead /cases/"],
        "file": ["handler /tasks/", "supervisor /cases/"],
        "filter": ["handler /inbox", "lead /inbox"],
        "measures": [f"handler /cases/{extra['second_case']}"],
        "urge": ["lead /notifications", "supervisor /cases/"],
        "user": ["admin /admin/users"],
        "dept": ["admin /admin/departments", "handler /cases/"],
        "short": ["admin /admin/departments"],
        "item": ["admin /admin/items", "handler /inbox"],
        "draft": ["designer /designer/"],
    }
    missing = []
    for field, prefixes in expected.items():
        for prefix in prefixes:
            if not any(where.startswith(prefix) and any(s in text for s in shown(field)) for where, text in pages.items()):
                missing.append(f"{field} not seen on {prefix}…")
    assert not missing, missing
