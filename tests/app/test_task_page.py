"""The task page: the form beside the case summary, the contact masked unless one holds
the contact or return-visit task, submitting (next task, stale form, invalid form),
comments (escaped) and evidence files (type, content and size checked, served only to
those who may see the case)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import CaseComment, CaseEvent, EvidenceFile
from app.services import case_tasks, task_work
from app.services.engine_runtime import make_engine
from app.services.evidence_store import path_of, store
from workflows.clock import ManualClock
from workflows.sweep import sweep
from workflows.tables import HumanTask

from .desk_fixtures import PHONE, District, beijing, district, login, logout, page_token, text  # noqa: F401

pytestmark = pytest.mark.usefixtures("clock")

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def docx(*parts: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for part in ("[Content_Types].xml", *parts):
            archive.writestr(part, "<xml/>")
    return buffer.getvalue()


def events(session: Session, case_id: int) -> list[str]:
    return list(session.scalars(select(CaseEvent.event).where(CaseEvent.case_id == case_id)
                                .order_by(CaseEvent.seq)))


def test_the_page_shows_the_form_beside_the_case(client: FlaskClient, district: District,
                                                 clock: ManualClock) -> None:
    case = district.case(clock, comment="窗口人员态度差")
    login(client, district.h1)
    page = text(client.get(f"/tasks/{district.task(case).id}"))
    assert "<h1>初步处置</h1>" in page and 'name="solved_on_spot"' in page and 'name="on_spot_measures"' in page
    assert "窗口人员态度差" in page and "新建区医疗保障局" in page and "测试事项" in page
    assert "2026-10-10 23:59" in page and "2026-10-13 23:59" in page  # contact and rectification deadlines
    assert "138****5678" in page and PHONE not in page and "张*丰" in page and "张三丰" not in page


def test_the_contact_is_shown_in_full_only_to_the_holder_of_the_contact_task(
        client: FlaskClient, session: Session, district: District, clock: ManualClock) -> None:
    case = district.case(clock)
    district.work(case, "triage", district.h1, solved_on_spot=False)
    contact = district.task(case)
    login(client, district.h1)
    assert PHONE not in text(client.get(f"/tasks/{contact.id}"))  # not claimed yet
    client.post(f"/tasks/{contact.id}/claim", data={"csrf_token": page_token(client)})
    page = text(client.get(f"/tasks/{contact.id}"))
    assert PHONE in page and "张三丰" in page and "360102199001011234" in page
    logout(client)
    login(client, district.h2)
    page = text(client.get(f"/tasks/{contact.id}"))
    assert PHONE not in page and "138****5678" in page and "该任务已被他人认领" in page
    assert 'name="contacted"' not in page  # no form for someone else's task


@pytest.mark.parametrize("who", ["outsider", "v_own", "admin"])
def test_a_task_the_user_may_not_see_is_not_found(client: FlaskClient, district: District, clock: ManualClock,
                                                  who: str) -> None:
    task = district.task(district.case(clock))
    login(client, getattr(district, who))
    assert client.get(f"/tasks/{task.id}").status_code == 404
    assert client.get("/tasks/987654").status_code == 404


def test_an_auditor_reads_but_cannot_work_or_comment(client: FlaskClient, session: Session, district: District,
                                                     clock: ManualClock) -> None:
    task = district.task(district.case(clock))
    login(client, district.auditor)
    page = text(client.get(f"/tasks/{task.id}"))
    assert "您不能办理此任务：需要部门经办人角色" in page
    assert 'name="solved_on_spot"' not in page and 'name="body"' not in page
    token = page_token(client, f"/tasks/{task.id}")
    response = client.post(f"/tasks/{task.id}", data={"csrf_token": token, "solved_on_spot": "y",
                                                      "on_spot_measures": "x"}, follow_redirects=True)
    assert "未能提交：需要部门经办人角色" in text(response)
    response = client.post(f"/tasks/{task.id}/comments", data={"csrf_token": token, "body": "看看"},
                           follow_redirects=True)
    assert "意见未保存：无权在该工单添加意见或材料" in text(response)
    assert session.scalars(select(CaseComment)).all() == []


def test_submitting_goes_on_to_the_next_task_of_the_case(client: FlaskClient, session: Session,
                                                         district: District, clock: ManualClock) -> None:
    case = district.case(clock)
    task = district.task(case)
    login(client, district.h1)
    token = page_token(client, f"/tasks/{task.id}")
    response = client.post(f"/tasks/{task.id}", data={"csrf_token": token})  # solved_on_spot unchecked = no
    contact = district.task(case)
    assert contact.bpmn_id == "contact_citizen"
    assert response.status_code == 302 and response.headers["Location"] == f"/tasks/{contact.id}"
    assert "「初步处置」已提交" in text(client.get(response.headers["Location"]))
    session.refresh(task)
    assert task.status == "completed" and task.completed_by == district.h1.id


def test_after_the_last_task_of_the_user_the_inbox_follows(client: FlaskClient, session: Session,
                                                           district: District, clock: ManualClock) -> None:
    case = district.case(clock)
    district.work(case, "triage", district.h1, solved_on_spot=False)
    contact = district.task(case)
    login(client, district.lead)  # a lead may not work the handler's next task
    logout(client)
    login(client, district.h1)
    token = page_token(client, f"/tasks/{contact.id}")
    values = {"csrf_token": token, "contacted": "y", "contact_method": "phone", "contacted_at": "2026-10-08T09:30",
              "citizen_request": "希望减少跑动次数", "problem_exists": "y"}
    response = client.post(f"/tasks/{contact.id}", data=values)
    rectify = district.task(case)
    assert response.headers["Location"] == f"/tasks/{rectify.id}"
    token = page_token(client, f"/tasks/{rectify.id}")
    response = client.post(f"/tasks/{rectify.id}", data={"csrf_token": token, "action": "appeal"})
    response = client.post(response.headers["Location"], data={
        "csrf_token": token, "appeal_reason": "mistaken", "appeal_explanation": "评价人误评"})
    assert district.task(case).bpmn_id == "decide_appeal"  # a verifier's: nothing more for the handler
    assert response.headers["Location"] == "/inbox"


def test_an_invalid_form_shows_errors_next_to_the_fields(client: FlaskClient, session: Session,
                                                         district: District, clock: ManualClock) -> None:
    case = district.case(clock)
    task = district.task(case)
    before = events(session, case.id)
    login(client, district.h1)
    token = page_token(client, f"/tasks/{task.id}")
    response = client.post(f"/tasks/{task.id}", data={"csrf_token": token, "solved_on_spot": "y"})
    assert response.status_code == 422
    assert '<p class="error" data-field="on_spot_measures">此项为必填项</p>' in text(response)
    session.refresh(task)
    assert task.status == "ready" and events(session, case.id) == before


def test_a_stale_form_changes_nothing(client: FlaskClient, session: Session, district: District,
                                      clock: ManualClock) -> None:
    case = district.case(clock)
    task = district.task(case)
    login(client, district.h1)
    token = page_token(client, f"/tasks/{task.id}")  # h1 opens the form …
    case_tasks.complete(session, task.id, {"solved_on_spot": False}, district.h2)  # … h2 completes it
    session.commit()
    before = events(session, case.id)
    response = client.post(f"/tasks/{task.id}", data={"csrf_token": token, "solved_on_spot": "y",
                                                      "on_spot_measures": "当场解释"}, follow_redirects=True)
    assert "该任务已由他人办理，您的提交未保存" in text(response)
    session.refresh(task)
    assert task.completed_by == district.h2.id and events(session, case.id) == before
    completed = session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                       CaseEvent.event == "task_completed"))
    assert completed.actor == "yb.h2" and completed.data["values"]["solved_on_spot"] is False


def test_a_task_completed_while_the_submission_waited_for_the_lock_is_stale(
        session: Session, district: District, clock: ManualClock) -> None:
    """The colleague's completion commits between our read and our lock: refused as stale."""
    case = district.case(clock)
    task = district.task(case)
    assert task.status == "ready"  # as this request read it
    session.execute(update(HumanTask).where(HumanTask.id == task.id).values(status="completed")
                    .execution_options(synchronize_session=False))
    with pytest.raises(task_work.StaleTask, match="该任务已由他人办理"):
        task_work.submit(session, district.h1, task.id, {"solved_on_spot": False})


def test_the_task_form_needs_its_csrf_token(client: FlaskClient, session: Session, district: District,
                                            clock: ManualClock) -> None:
    task = district.task(district.case(clock))
    login(client, district.h1)
    assert client.post(f"/tasks/{task.id}", data={"solved_on_spot": ""}).status_code == 400
    assert client.post(f"/tasks/{task.id}/comments", data={"body": "x"}).status_code == 400
    assert client.post(f"/tasks/{task.id}/evidence", data={"file": (io.BytesIO(PNG), "a.png")}).status_code == 400
    session.refresh(task)
    assert task.status == "ready" and session.scalars(select(EvidenceFile)).all() == []


def test_comments_are_escaped_and_recorded(client: FlaskClient, session: Session, district: District,
                                           clock: ManualClock) -> None:
    case = district.case(clock)
    task = district.task(case)
    login(client, district.h1)
    token = page_token(client, f"/tasks/{task.id}")
    attack = '<script>alert("xss")</script><img src=x onerror=alert(1)>'
    response = client.post(f"/tasks/{task.id}/comments", data={"csrf_token": token, "body": attack})
    assert response.headers["Location"] == f"/tasks/{task.id}#comments"
    page = text(client.get(f"/tasks/{task.id}"))
    assert attack not in page and "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;&lt;img" in page
    comment = session.scalar(select(CaseComment))
    assert comment.body == attack and comment.author_id == district.h1.id
    assert events(session, case.id)[-1] == "comment_added"
    response = client.post(f"/tasks/{task.id}/comments", data={"csrf_token": token, "body": "   "},
                           follow_redirects=True)
    assert "意见未保存：意见内容不能为空" in text(response)
    response = client.post(f"/tasks/{task.id}/comments", data={"csrf_token": token, "body": "长" * 2001},
                           follow_redirects=True)
    assert "意见内容最多2000字" in text(response)
    logout(client)
    login(client, district.outsider)
    token = page_token(client)
    assert client.post(f"/tasks/{task.id}/comments", data={"csrf_token": token, "body": "偷看"}).status_code == 404


def upload(client: FlaskClient, task_id: int, token: str, content: bytes, name: str) -> str:
    response = client.post(f"/tasks/{task_id}/evidence",
                           data={"csrf_token": token, "file": (io.BytesIO(content), name)},
                           content_type="multipart/form-data", follow_redirects=True)
    assert response.status_code == 200
    return text(response)


def test_evidence_is_stored_outside_the_web_root_and_served_to_those_who_may_see(
        app: Flask, client: FlaskClient, session: Session, district: District, clock: ManualClock) -> None:
    case = district.case(clock)
    task = district.task(case)
    login(client, district.h1)
    token = page_token(client, f"/tasks/{task.id}")
    assert "材料「整改照片.png」已上传" in upload(client, task.id, token, PNG, "整改照片.png")
    assert "材料「记录.docx」已上传" in upload(client, task.id, token, docx("word/document.xml"), "记录.docx")
    evidence = session.scalars(select(EvidenceFile).order_by(EvidenceFile.id)).all()
    assert [(e.filename, e.content_type, e.size, e.task_id) for e in evidence][0] == \
        ("整改照片.png", "image/png", len(PNG), task.id)
    stored = path_of(Path(app.instance_path) / "evidence", evidence[0].sha256)
    assert stored.read_bytes() == PNG and "static" not in stored.parts
    assert events(session, case.id)[-1] == "evidence_attached"
    logout(client)
    login(client, district.h2)
    response = client.get(f"/evidence/{evidence[0].id}")
    assert response.status_code == 200 and response.data == PNG
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E6%95%B4%E6%94%B9%E7%85%A7%E7%89%87.png" in response.headers["Content-Disposition"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    for who in (district.outsider, district.v_own):
        logout(client)
        login(client, who)
        assert client.get(f"/evidence/{evidence[0].id}").status_code == 404
    assert client.get("/evidence/424242").status_code == 404


@pytest.mark.parametrize("content, name, message", [
    (b"MZ\x90\x00" + b"\x00" * 60, "setup.exe", "不支持的文件类型"),
    (PDF, "photo.png", "文件内容与扩展名 .png 不符"),
    (PNG, "scan.pdf", "文件内容与扩展名 .pdf 不符"),
    (docx("xl/workbook.xml"), "report.docx", "文件内容与扩展名 .docx 不符"),
    (b"PK\x03\x04 not really a zip", "sheet.xlsx", "文件内容与扩展名 .xlsx 不符"),
    (b"<html><script>alert(1)</script></html>", "page.jpg", "文件内容与扩展名 .jpg 不符"),
    (b"", "empty.pdf", "文件是空的"),
    (PNG, "noextension", "不支持的文件类型"),
])
def test_evidence_of_a_wrong_type_is_refused(client: FlaskClient, session: Session, district: District,
                                             clock: ManualClock, content: bytes, name: str, message: str) -> None:
    task = district.task(district.case(clock))
    login(client, district.h1)
    page = upload(client, task.id, page_token(client, f"/tasks/{task.id}"), content, name)
    assert "材料未上传：" + message in page
    assert session.scalars(select(EvidenceFile)).all() == []


def test_evidence_larger_than_the_limit_is_refused(app: Flask, client: FlaskClient, session: Session,
                                                  district: District, clock: ManualClock,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_BYTES", 1024)
    task = district.task(district.case(clock))
    login(client, district.h1)
    token = page_token(client, f"/tasks/{task.id}")
    assert "材料未上传：文件过大：最大 1 KB" in upload(client, task.id, token, PNG + b"\x00" * 2000, "big.png")
    # Far beyond the limit: refused from the request's length, before the body is read.
    assert "材料未上传：文件过大" in upload(client, task.id, token, PNG + b"\x00" * 200_000, "huge.png")
    assert session.scalars(select(EvidenceFile)).all() == []
    assert "材料「small.png」已上传" in upload(client, task.id, token, PNG, "small.png")


def test_the_same_file_twice_is_stored_once(app: Flask, client: FlaskClient, session: Session,
                                            district: District, clock: ManualClock) -> None:
    task = district.task(district.case(clock))
    login(client, district.h1)
    token = page_token(client, f"/tasks/{task.id}")
    upload(client, task.id, token, PDF, "a.pdf")
    upload(client, task.id, token, PDF, "b.pdf")
    rows = session.scalars(select(EvidenceFile)).all()
    assert len(rows) == 2 and rows[0].sha256 == rows[1].sha256
    stored = path_of(Path(app.instance_path) / "evidence", rows[0].sha256)
    assert sorted(p.name for p in stored.parent.iterdir()) == [rows[0].sha256]


def test_a_task_whose_deadline_passed_shows_its_clocks_date(client: FlaskClient, session: Session,
                                                            district: District, clock: ManualClock) -> None:
    task = district.task(district.case(clock))
    clock.set(beijing("2026-10-12T09:00:00"))
    sweep(db.sessionmaker, make_engine)  # the triage deadline fires: the task keeps no due time of its own
    session.refresh(task)
    assert task.due_at is None
    login(client, district.h1)
    page = text(client.get(f"/tasks/{task.id}"))
    assert "截止 2026-10-10 23:59" in page and "已逾期" in page


@pytest.mark.parametrize("content, name, content_type", [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 32, "现场.JPG", "image/jpeg"),
    (b"ID3\x04\x00" + b"\x00" * 32, "录音.mp3", "audio/mpeg"),
    (b"\xff\xfb\x90\x64" + b"\x00" * 32, "frames.mp3", "audio/mpeg"),
    (b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 32, "voice.m4a", "audio/mp4"),
    (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 32, "监控.mp4", "video/mp4"),
    (docx("xl/workbook.xml"), "台账.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
])
def test_the_allowed_types_are_recognised_by_their_content(tmp_path: Path, content: bytes, name: str,
                                                           content_type: str) -> None:
    stored = store(tmp_path, "C:\\Users\\经办人\\" + name, io.BytesIO(content), max_bytes=1024)
    assert (stored.filename, stored.content_type, stored.size) == (name, content_type, len(content))
    assert path_of(tmp_path, stored.sha256).read_bytes() == content
    assert not any((tmp_path / "incoming").iterdir())  # nothing left half-written
