"""Secrets and personal data where they must never be (DESIGN.md §7).

- Logs, captured at DEBUG from every logger (SQL statements with their parameters
  included), during rating intake, sign-in, token use and the token and key listings: no
  API key, personal token or password, and no evaluator's name, phone or ID number.
- What leaves the system — the outbox payloads pushed to the province and to the
  supervision office, notifications (sent by e-mail or webhook), report exports (CSV, XLSX),
  bulletins (stored content, PDF, XLSX, CSV), the masked case file export (JSON, PDF), the
  dashboard feed — holds no evaluator's name, phone or ID number.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections.abc import Iterator

import pytest
from flask import Flask
from pdfminer.high_level import extract_text
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Bulletin, Notification, OutboxRecord, Role
from app.services import user_tokens
from workflows.clock import ManualClock

from ..app import factories
from ..app.case_support import anonymous, signed_in
from ..app.conftest import CSRF_FIELD, csrf_token
from ..app.report_month import Month, build_month
from ..app.test_cases import District
from ..app.test_intake_api import Source

NAME, PHONE, ID_NO = "欧阳晓燕", "13987654321", "360102198505051230"
MONTH_PHONE, MONTH_ID_NO, MONTH_NAME = "13900001111", "360102199001011234", "李四"  # report_month's evaluators
WRONG_PASSWORD = "Wrong-horse-99"
NEW_PASSWORD = "Battery-staple-77"


@pytest.fixture(autouse=True)
def everything_logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Autouse, so it runs before the session fixture opens its connection: SQLAlchemy
    decides at connect time whether to log statements and parameters. Its INFO level is
    what ``HCP_SQL_ECHO=true`` turns on (its own logger is at WARNING otherwise); its DEBUG
    level, which no setting of the app reaches, would also print result rows as loaded,
    decrypted personal data included."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    yield caplog


def _logged_text(caplog: pytest.LogCaptureFixture) -> str:
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(repr(record.args))
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


def _real_name_rating(source: Source, **fields: object) -> dict[str, object]:
    values: dict[str, object] = {"id": "pii-1", "level": "非常不满意", "dimensions": ["服务效率"], "comment": "窗口态度差",
                                 "evaluator": {"real_name": True, "name": NAME, "phone": PHONE, "id_type": "居民身份证",
                                               "id_no": ID_NO}}
    return source.rating(**{**values, **fields})


def test_logs_hold_no_keys_tokens_passwords_or_personal_data(app: Flask, session: Session, district: District,
                                                             clock: ManualClock,
                                                             everything_logged: pytest.LogCaptureFixture) -> None:
    source = Source(session)
    handler = factories.user(session, "rs.h1", [Role.HANDLER], source.dept)
    _, user_token = user_tokens.create_token(session, handler, "phone")
    session.commit()
    api = anonymous(app)
    created = api.post("/api/v1/evaluations", json=_real_name_rating(source), headers=source.headers())
    assert created.status_code == 201, created.get_json()
    invalid = dict(_real_name_rating(source, id="pii-2"), evaluator={"real_name": True, "name": NAME,
                                                                     "phone": PHONE + "0", "id_no": ID_NO})
    assert api.post("/api/v1/evaluations", json=invalid, headers=source.headers()).status_code == 422
    assert api.post("/api/v1/evaluations", json=_real_name_rating(source),
                    headers=source.headers(source.token + "x")).status_code == 401
    browser = anonymous(app)
    token = csrf_token(browser, "/login")
    assert browser.post("/login", data={"username": "rs.h1", "password": WRONG_PASSWORD,
                                        "csrf_token": token}).status_code == 200
    assert browser.post("/login", data={"username": "rs.h1", "password": factories.PASSWORD,
                                        "csrf_token": token}).status_code == 302
    bearer = {"Authorization": f"Bearer {user_token}"}
    tasks = api.get("/api/v1/tasks?tab=department", headers=bearer)
    assert tasks.status_code == 200
    case_no = created.get_json()["case_no"]
    assert api.get(f"/api/v1/cases/{case_no}", headers=bearer).status_code == 200
    assert api.get("/api/v1/tasks", headers={"Authorization": f"Bearer {user_token}x"}).status_code == 401
    task_id = next(t["id"] for t in tasks.get_json()["tasks"] if t["case_no"] == case_no)
    assert api.post(f"/api/v1/tasks/{task_id}/claim", headers=bearer).status_code == 200
    completed = api.post(f"/api/v1/tasks/{task_id}/complete", json={"solved_on_spot": False}, headers=bearer)
    assert completed.status_code == 200
    contact = api.get("/api/v1/tasks?tab=department", headers=bearer).get_json()["tasks"][0]
    assert api.post(f"/api/v1/tasks/{contact['id']}/claim", headers=bearer).status_code == 200
    page = browser.get(f"/tasks/{contact['id']}").get_data(as_text=True)
    assert PHONE in page  # the handler who must call back sees the number …
    changed = browser.post("/account/password", data={
        "current_password": factories.PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
        "csrf_token": csrf_token(browser, "/account/password")})
    assert changed.status_code == 302
    runner = app.test_cli_runner()
    for command in (["apikey", "list"], ["users", "tokens", "rs.h1"]):
        result = runner.invoke(args=command)
        assert result.exit_code == 0 and source.token not in result.output and user_token not in result.output
    logged = _logged_text(everything_logged)
    assert "SELECT" in logged, "SQL statements were not captured: the check would prove nothing"
    secrets = {"API key": source.token, "API key's secret part": source.token[12:], "user token": user_token,
               "user token's secret part": user_token[12:], "password": factories.PASSWORD,
               "wrong password": WRONG_PASSWORD, "new password": NEW_PASSWORD, "name": NAME, "phone": PHONE, "ID number": ID_NO}
    found = [what for what, value in secrets.items() if value in logged]
    assert not found, f"written to the log: {found}"  # … but no log line ever holds it


def _xlsx_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        return "\n".join(book.read(name).decode("utf-8", "replace") for name in book.namelist())


def _text_of(response: object) -> str:
    data: bytes = response.data  # type: ignore[attr-defined]
    mimetype: str = response.mimetype  # type: ignore[attr-defined]
    assert response.status_code == 200, (response.request.path, response.status_code)  # type: ignore[attr-defined]
    if mimetype == "application/pdf":
        return extract_text(io.BytesIO(data))
    if data.startswith(b"PK"):
        return _xlsx_text(data)
    return data.decode("utf-8-sig")


@pytest.fixture
def month(session: Session, clock: ManualClock) -> Month:
    return build_month(session, clock)


def test_what_leaves_the_system_holds_no_personal_data(app: Flask, session: Session, month: Month) -> None:
    source = Source(session)
    assert anonymous(app).post("/api/v1/evaluations", json=_real_name_rating(source),
                               headers=source.headers()).status_code == 201
    supervisor, auditor = signed_in(app, "dc.sup"), signed_in(app, "sj.aud")
    token = CSRF_FIELD.search(supervisor.get("/reports/bulletins").get_data(as_text=True)).group(1)
    assert supervisor.post("/reports/bulletins", data={"month": "2026-10", "csrf_token": token}).status_code == 302
    texts: dict[str, str] = {}
    for fmt in ("csv", "xlsx"):
        for group in ("department", "channel", "item", "staff"):
            texts[f"report {group}.{fmt}"] = _text_of(supervisor.get(f"/reports/export.{fmt}?month=2026-10&group={group}"))
    for fmt in ("pdf", "xlsx", "csv"):
        texts[f"bulletin.{fmt}"] = _text_of(supervisor.get(f"/reports/bulletins/2026-10.{fmt}"))
    texts["bulletin page"] = _text_of(supervisor.get("/reports/bulletins/2026-10"))
    texts["dashboard feed"] = _text_of(supervisor.get("/reports/dashboard.json"))
    case_no = month.cases["C1"].case_no
    path = f"/audit/cases/{case_no}"
    for fmt in ("json", "pdf"):
        texts[f"case file.{fmt}"] = _text_of(auditor.post(f"{path}/export",
                                                          data={"csrf_token": csrf_token(auditor, path), "format": fmt}))
    session.expire_all()
    texts["stored bulletins"] = json.dumps([b.content for b in session.scalars(select(Bulletin))], ensure_ascii=False)
    outbox = list(session.scalars(select(OutboxRecord)))
    assert {record.kind for record in outbox} >= {"evaluation", "bulletin"}, {r.kind for r in outbox}
    texts["outbox payloads"] = json.dumps([r.payload for r in outbox], ensure_ascii=False, default=str)
    notes = list(session.scalars(select(Notification)))
    assert notes
    texts["notifications"] = json.dumps([[n.title, n.body] for n in notes], ensure_ascii=False)
    assert "138****" not in texts["case file.json"] and "139****1111" in texts["case file.json"]  # masked, not absent
    leaks = [f"{what} in {where}" for where, text in texts.items()
             for what, value in (("name", NAME), ("phone", PHONE), ("ID number", ID_NO), ("name", MONTH_NAME),
                                 ("phone", MONTH_PHONE), ("ID number", MONTH_ID_NO)) if value in text]
    assert not leaks, leaks
