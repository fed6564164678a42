"""The designer's pages (issue 7): who may see and do what, upload and save with validation,
the concurrent-save refusal, four-eyes review, deploy, diff and migration pages."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEntry, CaseEvent, DraftState, ProcessDraft, Role
from app.services import calendar_years
from app.services.cases import open_case
from app.services.engine_runtime import SPECS, current_deployment
from workflows.clock import ManualClock
from workflows.tables import Deployment, ProcessInstance
from workflows.validation import MAX_BPMN_BYTES

from . import factories
from ..workflows.bpmn_samples import SHIPPED, sample
from ..workflows.test_validation import XXE
from .case_support import signed_in
from .conftest import csrf_token
from .test_cases import District, bad_rating

RECHECK = (SHIPPED / "recheck.bpmn").read_text(encoding="utf-8")
RENAMED = RECHECK.replace('name="复核">', 'name="二次复核">', 1)


@pytest.fixture(autouse=True)
def fresh_specs() -> Iterator[None]:
    SPECS.clear()
    yield
    SPECS.clear()


@pytest.fixture
def people(session: Session, clock: ManualClock) -> None:
    factories.user(session, "designer.ann", [Role.DESIGNER])
    factories.user(session, "designer.cat", [Role.DESIGNER])
    factories.user(session, "auditor.al", [Role.AUDITOR])
    factories.user(session, "handler.hu", [Role.HANDLER], factories.department(session))
    current_deployment(session)
    session.commit()


def client_of(app: Flask, username: str) -> FlaskClient:
    return signed_in(app, username)


def new_draft(client: FlaskClient, file_name: str = "recheck.bpmn") -> int:
    response = client.post("/designer/drafts/new", data={"file_name": file_name, "note": "复核改名",
                                                          "csrf_token": csrf_token(client, "/designer/")})
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def save(client: FlaskClient, draft_id: int, xml: str, revision: int, token: str | None = None) -> tuple[int, dict]:
    token = token or csrf_token(client, f"/designer/drafts/{draft_id}")
    response = client.post(f"/designer/drafts/{draft_id}/save", json={"xml": xml, "revision": revision},
                           headers={"X-CSRFToken": token})
    return response.status_code, response.get_json()


def act(client: FlaskClient, draft_id: int, action: str, **data: object) -> str:
    page = client.get(f"/designer/drafts/{draft_id}").get_data(as_text=True)
    revision = int(re.search(r'data-revision="(\d+)"', page).group(1))
    response = client.post(f"/designer/drafts/{draft_id}/{action}", data={
        "revision": revision, "csrf_token": csrf_token(client, f"/designer/drafts/{draft_id}"), **data})
    assert response.status_code == 302
    return client.get(response.headers["Location"]).get_data(as_text=True)


def test_who_sees_the_library(app: Flask, session: Session, people: None) -> None:
    anonymous = app.test_client()
    assert anonymous.get("/designer/").status_code == 302  # to the login page
    assert client_of(app, "handler.hu").get("/designer/").status_code == 403
    auditor = client_of(app, "auditor.al")
    page = auditor.get("/designer/").get_data(as_text=True)
    assert "bad_review.bpmn" in page and "已部署（新案件使用）" in page and "上传为草稿" not in page
    assert auditor.get("/designer/versions/1/files/recheck.bpmn").get_data(as_text=True) == RECHECK
    assert auditor.post("/designer/drafts/new", data={"file_name": "recheck.bpmn"}).status_code in (400, 403)
    designer = client_of(app, "designer.ann")
    page = designer.get("/designer/").get_data(as_text=True)
    assert "上传为草稿" in page and "基于最新版本新建草稿" in page
    assert 'href="/designer/"' in page  # the navigation link


def test_download_of_a_version_file(app: Flask, session: Session, people: None) -> None:
    designer = client_of(app, "designer.ann")
    response = designer.get("/designer/versions/1/files/bad_review.bpmn")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    assert 'filename="bad_review.v1.bpmn"' in response.headers["Content-Disposition"]
    for path in ("/designer/versions/9/files/bad_review.bpmn", "/designer/versions/1/files/nope.bpmn",
                 "/designer/versions/1/files/..%2Fsecret.bpmn"):
        assert designer.get(path).status_code == 404


def test_editing_saving_and_the_concurrent_save(app: Flask, session: Session, people: None) -> None:
    ann, cat = client_of(app, "designer.ann"), client_of(app, "designer.cat")
    draft_id = new_draft(ann)
    page = ann.get(f"/designer/drafts/{draft_id}").get_data(as_text=True)
    assert 'id="modeler-canvas"' in page and "vendor/designer/modeler.js" in page and "没有问题" in page
    assert ann.get(f"/designer/drafts/{draft_id}/xml").get_data(as_text=True) == RECHECK
    broken = RECHECK.replace('value="recheck_decision"', 'value="missing_form"')
    status, body = save(ann, draft_id, broken, 1)
    assert status == 200 and body["revision"] == 2
    assert body["problems"] == [{"rule": "form", "element_id": "decide_recheck", "line": body["problems"][0]["line"],
                                 "message": body["problems"][0]["message"]}]
    page = ann.get(f"/designer/drafts/{draft_id}").get_data(as_text=True)
    assert 'data-element="decide_recheck"' in page and "missing_form" in page
    # Cat saves on the revision she opened (1): refused, and Ann's version is kept.
    status, body = save(cat, draft_id, RENAMED, 1)
    assert status == 409 and body["stale"] and "您的修改没有保存" in body["error"]
    assert session.get(ProcessDraft, draft_id).bpmn_xml == broken
    status, body = save(ann, draft_id, RENAMED, 2)
    assert (status, body["problems"], body["revision"]) == (200, [], 3)


def test_bad_save_requests(app: Flask, session: Session, people: None) -> None:
    ann = client_of(app, "designer.ann")
    draft_id = new_draft(ann)
    token = csrf_token(ann, f"/designer/drafts/{draft_id}")
    assert ann.post(f"/designer/drafts/{draft_id}/save", json={"xml": RENAMED, "revision": 1}).status_code == 400
    assert ann.post(f"/designer/drafts/{draft_id}/save", data="nope", headers={"X-CSRFToken": token},
                    content_type="application/json").status_code == 400
    status, body = save(ann, draft_id, 42, 1, token)  # type: ignore[arg-type]
    assert status == 400 and body["field"] == "xml"
    status, body = save(ann, draft_id, XXE, 1, token)
    assert status == 422 and "DOCTYPE" in body["error"] and body["problems"][0]["rule"] == "xml"
    status, body = save(ann, draft_id, RENAMED, None, token)  # type: ignore[arg-type]
    assert status == 409
    assert ann.post("/designer/drafts/999/save", json={"xml": RENAMED, "revision": 1},
                    headers={"X-CSRFToken": token}).status_code == 404
    assert client_of(app, "auditor.al").get(f"/designer/drafts/{draft_id}").status_code == 403


def test_upload(app: Flask, session: Session, people: None) -> None:
    ann = client_of(app, "designer.ann")

    def upload(content: bytes, name: str = "x.bpmn") -> tuple[int, str]:
        response = ann.post("/designer/drafts/upload", data={
            "file": (io.BytesIO(content), name), "note": "上传", "csrf_token": csrf_token(ann, "/designer/")},
            content_type="multipart/form-data")
        return response.status_code, (response.headers.get("Location") or response.get_data(as_text=True))

    status, page = upload(XXE.encode())
    assert status == 422 and "DOCTYPE" in page and 'data-field="file"' in page
    status, page = upload(b"x" * (MAX_BPMN_BYTES + 1))
    assert status == 422 and "超过" in page
    status, page = upload(b"")
    assert status == 422 and "请选择" in page
    assert session.scalars(select(ProcessDraft)).all() == []
    status, location = upload(sample(called="nowhere").encode(), "demo.bpmn")
    assert status == 302
    page = ann.get(location).get_data(as_text=True)
    assert "demo.bpmn" in page and "调用的流程“nowhere”不存在" in page and 'data-element="call"' in page


def test_review_and_deploy_through_the_pages(app: Flask, session: Session, people: None, clock: ManualClock) -> None:
    calendar_years.reset_calendar()
    ann, cat = client_of(app, "designer.ann"), client_of(app, "designer.cat")
    draft_id = new_draft(ann)
    assert save(ann, draft_id, RENAMED, 1)[0] == 200
    page = act(ann, draft_id, "submit")
    assert "已提交审核" in page and "等待另一位流程设计员审核" in page
    page = act(ann, draft_id, "approve", comment="我自己批准")
    assert "不能审核自己编写或修改过的草稿" in page
    page = act(cat, draft_id, "approve", comment="")
    assert "请填写审核意见" in page
    page = act(cat, draft_id, "deploy")
    assert "须经另一位流程设计员批准后才能部署" in page
    page = act(cat, draft_id, "approve", comment="同意")
    assert "已批准，可以部署" in page
    page = act(ann, draft_id, "deploy")
    assert "已部署为版本 2" in page
    assert current_deployment(session).bpmn_files["recheck.bpmn"] == RENAMED
    logged = {e.action: e for e in session.scalars(select(AuditEntry).where(
        AuditEntry.action.in_(["process_approved", "process_deployed"])))}
    assert logged["process_approved"].actor == "designer.cat" and logged["process_approved"].detail["comment"] == "同意"
    assert logged["process_deployed"].actor == "designer.ann" and logged["process_deployed"].target == "版本 2"
    library = cat.get("/designer/").get_data(as_text=True)
    assert "已停用（仅存量实例）" in library and "同意" in library
    missing_csrf = cat.post(f"/designer/drafts/{draft_id}/deploy", data={"revision": 1})
    assert missing_csrf.status_code == 400


def test_form_editing_and_preview(app: Flask, session: Session, people: None) -> None:
    ann = client_of(app, "designer.ann")
    draft_id = new_draft(ann)
    token = csrf_token(ann, f"/designer/drafts/{draft_id}")
    definition = {"name": "recheck_note", "title": "复核意见", "fields": [
        {"name": "recheck_upheld", "label": "维持原决定", "type": "boolean", "required": True},
        {"name": "reason", "label": "理由<b>", "type": "choice", "choices": [["a", "甲"], ["b", "乙"]]}]}
    preview = ann.post(f"/designer/drafts/{draft_id}/forms/preview", headers={"X-CSRFToken": token},
                       json={"name": "recheck_note", "definition": json.dumps(definition, ensure_ascii=False)})
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "复核意见" in html and "维持原决定" in html and "理由&lt;b&gt;" in html
    bad = ann.post(f"/designer/drafts/{draft_id}/forms/preview", headers={"X-CSRFToken": token},
                   json={"name": "recheck_note", "definition": "{"})
    assert bad.status_code == 422 and "表单定义有误" in bad.get_json()["error"]
    refused = ann.post(f"/designer/drafts/{draft_id}/forms", data={
        "name": "recheck_note", "definition": '{"name": "recheck_note"}', "revision": 1, "csrf_token": token})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "表单定义有误" in page and '{&#34;name&#34;: &#34;recheck_note&#34;}' in page  # nothing lost
    saved = ann.post(f"/designer/drafts/{draft_id}/forms", data={
        "name": "recheck_note", "definition": json.dumps(definition), "revision": 1, "csrf_token": token})
    assert saved.status_code == 302
    assert session.get(ProcessDraft, draft_id).form_files == {"recheck_note": definition}
    assert "recheck_note（已修改）" in ann.get(f"/designer/drafts/{draft_id}").get_data(as_text=True)


def test_diff_pages(app: Flask, session: Session, people: None) -> None:
    ann, cat = client_of(app, "designer.ann"), client_of(app, "designer.cat")
    draft_id = new_draft(ann)
    save(ann, draft_id, RENAMED, 1)
    page = ann.get(f"/designer/drafts/{draft_id}/diff").get_data(as_text=True)
    assert "recheck.bpmn：版本 1 → 草稿" in page and '<tr data-element="decide_recheck">' in page
    assert "<td>复核 → 二次复核</td><td>用户任务</td>" in page and "<td>名称</td>" in page
    act(ann, draft_id, "submit")
    act(cat, draft_id, "approve", comment="同意")
    act(ann, draft_id, "deploy")
    auditor = client_of(app, "auditor.al")
    page = auditor.get("/designer/diff?file=recheck.bpmn&old=1&new=2").get_data(as_text=True)
    assert "修改（1）" in page and "新增（0）" in page and "diff-data" in page
    assert auditor.get("/designer/diff?file=recheck.bpmn&old=1&new=7").status_code == 404
    assert auditor.get("/designer/diff?file=../x&old=1&new=2").status_code == 400
    assert auditor.get("/designer/diff?file=recheck.bpmn&old=a&new=2").status_code == 400


def test_migration_pages(app: Flask, session: Session, people: None, clock: ManualClock) -> None:
    calendar_years.reset_calendar()
    district = District(session)
    cases = [open_case(session, bad_rating(session, district, clock)) for _ in range(2)]
    session.commit()
    ann, cat = client_of(app, "designer.ann"), client_of(app, "designer.cat")
    draft_id = new_draft(ann, "bad_review.bpmn")
    xml = session.get(ProcessDraft, draft_id).bpmn_xml.replace('name="初步处置">', 'name="首次处置">', 1)
    assert save(ann, draft_id, xml, 1)[0] == 200
    act(ann, draft_id, "submit")
    act(cat, draft_id, "approve", comment="同意")
    act(ann, draft_id, "deploy")
    assert client_of(app, "auditor.al").get("/designer/versions/2/migration").status_code == 403
    page = ann.get("/designer/versions/2/migration").get_data(as_text=True)
    assert "其中 2 个可以迁移" in page and cases[0].case_no in page
    token = csrf_token(ann, "/designer/versions/2/migration")
    one = ann.post("/designer/versions/2/migration", data={"instance_id": cases[0].instance_id, "csrf_token": token})
    assert one.status_code == 302
    assert f"案件 {cases[0].case_no} 已迁移到版本 2" in ann.get(one.headers["Location"]).get_data(as_text=True)
    again = ann.post("/designer/versions/2/migration", data={"instance_id": cases[0].instance_id, "csrf_token": token})
    assert "不能迁移：已在版本 2 上" in ann.get(again.headers["Location"]).get_data(as_text=True)
    everything = ann.post("/designer/versions/2/migration", data={"csrf_token": token})
    assert "已迁移 1 个案件到版本 2" in ann.get(everything.headers["Location"]).get_data(as_text=True)
    versions = session.scalars(select(Deployment.version).join(ProcessInstance)
                               .where(ProcessInstance.id.in_([c.instance_id for c in cases]))).all()
    assert versions == [2, 2]
    assert session.scalars(select(CaseEvent.actor).where(CaseEvent.event == "instance_migrated")).all() == \
        ["designer.ann", "designer.ann"]
    assert ann.get("/designer/versions/9/migration").status_code == 404
    assert ann.post("/designer/versions/2/migration", data={"csrf_token": "x"}).status_code == 400


def test_a_stale_review_is_refused(app: Flask, session: Session, people: None) -> None:
    ann, cat = client_of(app, "designer.ann"), client_of(app, "designer.cat")
    draft_id = new_draft(ann)
    act(ann, draft_id, "submit")
    token = csrf_token(cat, f"/designer/drafts/{draft_id}")
    act(ann, draft_id, "withdraw")
    response = cat.post(f"/designer/drafts/{draft_id}/approve", data={"revision": 2, "comment": "同意",
                                                                     "csrf_token": token})
    page = cat.get(response.headers["Location"]).get_data(as_text=True)
    assert "已被" in page and "修改" in page
    assert session.get(ProcessDraft, draft_id).state is DraftState.DRAFT
