"""The auditors' pages: a case replayed step by step, verification, the case file export
(JSON and PDF, masked unless an auditor gives a reason), and the log of user actions."""

from __future__ import annotations

import io
import json

import pytest
from flask import Flask
from pdfminer.high_level import extract_text
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEntry, Case, Role
from workflows.clock import ManualClock

from . import factories
from .case_support import NAME, PHONE, anonymous, real_name_case, signed_in
from .conftest import csrf_token
from .test_cases import CONTACTED, District, district, work  # noqa: F401


@pytest.fixture
def worked(session: Session, district: District, clock: ManualClock) -> Case:
    case = real_name_case(session, district, clock)
    work(session, case, "triage", district.h1, solved_on_spot=False)
    work(session, case, "contact_citizen", district.h1, **CONTACTED)
    return case


def entries(session: Session, action: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_who_reaches_the_audit_pages(app: Flask, session: Session, district: District, worked: Case) -> None:
    path = f"/audit/cases/{worked.case_no}"
    assert anonymous(app).get(path).status_code == 302
    for username in ("yb.h1", "yb.lead", "verifier.one"):
        assert signed_in(app, username).get(path).status_code == 403
    for username in ("auditor.one", "supervisor.one"):
        client = signed_in(app, username)
        assert client.get(path).status_code == 200
        assert client.get("/audit/log").status_code == 200
        assert client.get("/audit/cases/CP-NOSUCH").status_code == 404


def test_the_case_is_replayed_step_by_step(app: Flask, session: Session, district: District, worked: Case) -> None:
    client = signed_in(app, "auditor.one")
    page = client.get(f"/audit/cases/{worked.case_no}").get_data(as_text=True)
    assert "重演核验：" in page and "一致" in page
    assert "第1步" in page and "第3步" in page and "立案与流程启动" in page
    assert "联系群众" in page and "剩余" in page  # the open task and its working days left, as they were
    assert PHONE not in page and NAME not in page
    data = client.get(f"/audit/cases/{worked.case_no}/replay.json").get_json()
    assert "1:bad_review" in data["processes"] and data["processes"]["1:bad_review"]["xml"].startswith("<?xml")
    assert [(s["number"], s["version"]) for s in data["steps"]] == [(1, 1), (2, 1), (3, 1)]
    assert "triage" in data["steps"][0]["marks"]["bad_review"]["active"]
    assert "triage" in data["steps"][1]["marks"]["bad_review"]["completed"]


def test_verify_checks_both_and_is_logged(app: Flask, session: Session, district: District, worked: Case) -> None:
    client = signed_in(app, "auditor.one")
    path = f"/audit/cases/{worked.case_no}"
    assert client.post(f"{path}/verify").status_code == 400  # no CSRF token
    response = client.post(f"{path}/verify", data={"csrf_token": csrf_token(client, path)}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "历史完整" in page and "重演核验：" in page
    logged = entries(session, "audit_verified")
    assert logged[-1].target == worked.case_no and logged[-1].detail == {"chain_intact": True, "consistent": True}


def test_case_file_export_is_masked_unless_an_auditor_gives_a_reason(
        app: Flask, session: Session, district: District, worked: Case) -> None:
    path = f"/audit/cases/{worked.case_no}"
    supervisor = signed_in(app, "supervisor.one")
    token = csrf_token(supervisor, path)
    body = supervisor.post(f"{path}/export", data={"csrf_token": token, "format": "json"})
    assert body.status_code == 200 and "attachment" in body.headers["Content-Disposition"]
    data = json.loads(body.get_data(as_text=True))
    assert data["personal_data"] == "masked" and data["rating"]["evaluator"]["phone"] == "138****5678"
    assert data["verification"]["chain_intact"] and data["verification"]["replay"]["consistent"]
    assert [e["event"] for e in data["events"]][:1] == ["case_opened"]
    assert any(d["clock"] == "contact" for d in data["deadlines"])
    assert supervisor.post(f"{path}/export", data={"csrf_token": token, "format": "json", "unmask": "y",
                                                    "reason": "核查"}).status_code == 403
    auditor = signed_in(app, "auditor.one")
    token = csrf_token(auditor, path)
    refused = auditor.post(f"{path}/export", data={"csrf_token": token, "format": "json", "unmask": "y"})
    assert refused.status_code == 422 and "导出完整个人信息须说明理由" in refused.get_data(as_text=True)
    full = json.loads(auditor.post(f"{path}/export", data={"csrf_token": token, "format": "json", "unmask": "y",
                                                           "reason": "纪检调查需要"}).get_data(as_text=True))
    assert full["rating"]["evaluator"]["phone"] == PHONE and full["personal_data"] == "full"
    logged = entries(session, "case_exported")
    assert [e.detail["unmasked"] for e in logged] == [False, True] and logged[-1].detail["reason"] == "纪检调查需要"


def test_the_pdf_case_file_carries_the_chinese_summary(app: Flask, session: Session, district: District,
                                                       worked: Case) -> None:
    client = signed_in(app, "auditor.one")
    path = f"/audit/cases/{worked.case_no}"
    response = client.post(f"{path}/export", data={"csrf_token": csrf_token(client, path), "format": "pdf"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = extract_text(io.BytesIO(response.data))
    for expected in (f"差评案卷 {worked.case_no}", "新建区医疗保障局", "不满意", "联系群众", "历史完整", "已脱敏"):
        assert expected in text, expected
    assert PHONE not in text


def test_the_log_records_sign_ins_and_is_searchable(app: Flask, session: Session, district: District) -> None:
    client = anonymous(app)
    token = csrf_token(client, "/login")
    client.post("/login", data={"username": "yb.h1", "password": "wrong-password-1", "csrf_token": token})
    client.post("/login", data={"username": "nobody", "password": "wrong-password-1", "csrf_token": token})
    signed_in(app, "yb.h1")
    assert [(e.actor, e.detail.get("reason")) for e in entries(session, "login_failed")] == [
        ("yb.h1", "wrong_password"), ("nobody", "wrong_password")]
    assert entries(session, "login")[-1].actor_id == district.h1.id
    auditor = signed_in(app, "auditor.one")
    page = auditor.get("/audit/log?action=login_failed").get_data(as_text=True)
    assert "nobody" in page and "登录失败" in page and "共 2 条" in page
    bad = auditor.get("/audit/log?date_from=2026-13-01").get_data(as_text=True)
    assert "date_from：日期格式应为 YYYY-MM-DD" in bad
    assert "共 0 条" in auditor.get("/audit/log?actor=%25").get_data(as_text=True)  # LIKE wildcards are literal


def test_administrator_actions_are_logged(app: Flask, session: Session, district: District) -> None:
    factories.user(session, "root", [Role.ADMIN])
    session.commit()
    admin = signed_in(app, "root")
    path = f"/admin/users/{district.h2.id}"
    form = {"csrf_token": csrf_token(admin, path), "display_name": "经办人二", "department": str(district.dept.id),
            "roles": ["handler", "lead"], "active": "y"}
    assert admin.post(path, data=form).status_code == 302
    changed = entries(session, "roles_changed")[-1]
    assert changed.target == "yb.h2" and changed.detail == {"before": ["handler"], "after": ["handler", "lead"]}
    assert changed.actor == "root"


def test_cli_actions_are_logged(app: Flask, session: Session) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["apikey", "create", "--name", "hall-9", "--channel", "window_device"]).exit_code == 0
    assert entries(session, "api_key_created")[-1].actor.startswith("cli:")
    assert entries(session, "api_key_created")[-1].target == "hall-9"
