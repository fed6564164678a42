"""The administrator's pages for the outbox to the province and for paper rating sheets."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import OutboxRecord, Rating, Role
from app.models.outbox import DELIVERED, PENDING
from workflows.clock import ManualClock

from . import factories
from .conftest import csrf_token
from .test_auth_views import login
from .test_rating_import import Seed, write_csv


@pytest.fixture
def admin(client: FlaskClient, session: Session) -> FlaskClient:
    factories.user(session, "root", [Role.ADMIN])
    session.commit()
    login(client, "root")
    return client


def outbox(session: Session, clock: ManualClock, n: int, *, attempts: int = 0, delivered: bool = False,
           stream: str = "rating:1") -> OutboxRecord:
    now = clock.now()
    record = OutboxRecord(kind="evaluation", stream=stream, payload={"projectNo": f"R{n}", "satisfaction": 5},
                          status=DELIVERED if delivered else PENDING, attempts=attempts,
                          next_attempt_at=now + timedelta(minutes=30 if attempts else 0),
                          last_error="HTTP 502 from the receiver" if attempts else None, created_at=now,
                          delivered_at=now if delivered else None)
    session.add(record)
    session.flush()
    return record


@pytest.mark.parametrize("roles", [[Role.HANDLER], [Role.SUPERVISOR], [Role.AUDITOR], [Role.VERIFIER]])
def test_only_administrators_reach_the_pages(client: FlaskClient, session: Session, roles: list[Role]) -> None:
    dept = factories.department(session)
    factories.user(session, "someone", roles, dept if Role.HANDLER in roles else None)
    session.commit()
    for path in ("/admin/outbox", "/admin/imports"):
        assert client.get(path).status_code == 302  # anonymous: to the login page
    login(client, "someone")
    for path in ("/admin/outbox", "/admin/imports"):
        assert client.get(path).status_code == 403


def test_outbox_tabs_show_waiting_failing_and_delivered(admin: FlaskClient, session: Session,
                                                         clock: ManualClock) -> None:
    outbox(session, clock, 1)
    failing = outbox(session, clock, 2, attempts=3, stream="case:CP202609300000001")
    outbox(session, clock, 3, delivered=True)
    session.commit()
    page = admin.get("/admin/outbox").get_data(as_text=True)  # failing first: what needs attention
    assert "HTTP 502 from the receiver" in page and "case:CP202609300000001" in page
    assert "待推送 <span class=\"count\">1</span>" in page and "已推送 <span class=\"count\">1</span>" in page
    assert "R1" not in page and failing.stream in page
    waiting = admin.get("/admin/outbox?state=waiting").get_data(as_text=True)
    assert "R1" in waiting and "R2" not in waiting
    found = admin.get("/admin/outbox?state=failing&stream=CP20260930").get_data(as_text=True)
    assert "共 1 条" in found
    bad = admin.get("/admin/outbox?state=lost&page=x")
    assert bad.status_code == 200 and "state：未知的推送状态" in bad.get_data(as_text=True)


def test_retry_makes_failing_records_due_now_and_needs_csrf(admin: FlaskClient, session: Session,
                                                            clock: ManualClock) -> None:
    first = outbox(session, clock, 1, attempts=2)
    second = outbox(session, clock, 2, attempts=5)
    done = outbox(session, clock, 3, delivered=True)
    session.commit()
    assert admin.post("/admin/outbox/retry", data={"record_id": str(first.id)}).status_code == 400
    token = csrf_token(admin, "/admin/outbox")
    response = admin.post("/admin/outbox/retry", data={"csrf_token": token, "record_id": str(first.id)},
                          follow_redirects=True)
    assert "已将1条失败记录排入下一次推送" in response.get_data(as_text=True)
    session.expire_all()
    assert first.next_attempt_at == clock.now() and first.attempts == 2
    assert second.next_attempt_at > clock.now()
    admin.post("/admin/outbox/retry", data={"csrf_token": token})
    session.expire_all()
    assert second.next_attempt_at == clock.now() and done.status == DELIVERED
    assert admin.post("/admin/outbox/retry", data={"csrf_token": token, "record_id": "1 or 1=1"}).status_code == 400


def test_a_sheet_uploaded_is_imported_through_intake(admin: FlaskClient, session: Session, tmp_path) -> None:
    seed = Seed(session)
    session.commit()
    sheet = write_csv(tmp_path / "评价表.csv", seed.sheet()).read_bytes()
    token = csrf_token(admin, "/admin/imports")

    def upload(name: str, content: bytes, **extra: str):
        return admin.post("/admin/imports", data={"csrf_token": token, "source": "paper-import",
                                                  "file": (io.BytesIO(content), name), **extra},
                          content_type="multipart/form-data")

    dry = upload("评价表.csv", sheet, dry_run="y").get_data(as_text=True)
    assert "试运行，未保存任何数据" in dry
    assert session.scalar(select(func.count()).select_from(Rating)) == 0
    page = upload("评价表.csv", sheet).get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Rating)) == 2
    assert "<dt>新增</dt><dd>2</dd>" in page and "<dt>开立差评案件</dt><dd>1</dd>" in page
    assert "第5行 level" in page
    link = page.split('href="/admin/imports/reports/')[1].split('"')[0]
    report = admin.get(f"/admin/imports/reports/{link}")
    assert report.status_code == 200 and "P-0003" in report.get_data(as_text=True)
    again = upload("评价表.csv", sheet).get_data(as_text=True)
    assert "<dt>重复</dt><dd>2</dd>" in again
    wrong = upload("评价表.exe", b"MZ...").get_data(as_text=True)
    assert "只能导入 .csv 或 .xlsx 文件" in wrong
    assert admin.get("/admin/imports/reports/..%2F..%2Fsecret.csv").status_code == 404
    assert admin.get("/admin/imports/reports/" + "0" * 32 + ".csv").status_code == 404
