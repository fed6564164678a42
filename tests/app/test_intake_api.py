"""POST /api/v1/evaluations and hcp apikey: keys, idempotency, 一次一评, service records that
arrive later, batches, and the case of a bad rating in the same transaction."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from calendars import SHANGHAI
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from app.models import ApiKey, Case, Channel, ItemKind, Rating, ServiceItem, ServiceRecord, StaffMember
from app.services import calendar_years
from app.services.api_keys import RECHECK_AFTER, create_key, revoke
from workflows.clock import ManualClock
from workflows.tables import HumanTask

from . import factories

NOW = datetime.now(timezone.utc)


class Source:
    def __init__(self, session: Session) -> None:
        calendar_years.reset_calendar()
        self.dept = factories.department(session, "新建区人力资源和社会保障局")
        self.item = ServiceItem(code="360112-RS-0001", name="社会保障卡申领", kind=ItemKind.PUBLIC_SERVICE,
                                department=self.dept)
        self.staff = StaffMember(department=self.dept, staff_no="RS0101", name="李敏")
        self.record = ServiceRecord(record_no="36011220261120000001", service_item=self.item,
                                    department=self.dept, staff_member=self.staff, accepted_at=NOW)
        session.add_all([self.item, self.staff, self.record])
        self.key, self.token = create_key(session, "hall-window-03", Channel.WINDOW_DEVICE, "admin", NOW)
        session.commit()

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    def rating(self, **fields: Any) -> dict[str, Any]:
        body = {"id": "dev-0001", "service_record_no": self.record.record_no, "service_item_code": self.item.code,
                "channel": "window_device", "level": "满意",
                "evaluated_at": (NOW - timedelta(minutes=3)).isoformat()}
        body.update(fields)
        return {k: v for k, v in body.items() if v is not None}


@pytest.fixture
def source(session: Session) -> Source:
    return Source(session)


def post(client: FlaskClient, source: Source, body: Any, **headers: str):
    return client.post("/api/v1/evaluations", json=body, headers={**source.headers(), **headers})


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model))


BAD = {"level": "不满意", "dimensions": ["服务效率"], "comment": "排队一个多小时",
       "evaluator": {"real_name": True, "name": "张晓明", "phone": "13812341234"}}


@pytest.mark.parametrize("header", [None, "Bearer hcp_wrong", "Basic abc", "Bearer "])
def test_a_key_is_required(client: FlaskClient, source: Source, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = client.post("/api/v1/evaluations", json=source.rating(), headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["error"]["detail"].startswith("需要有效的API密钥")


def test_a_revoked_key_is_refused(client: FlaskClient, session: Session, source: Source) -> None:
    revoke(session, "hall-window-03", NOW)
    session.commit()
    assert post(client, source, source.rating()).status_code == 401


def test_a_key_revoked_by_another_process_is_refused_a_second_later(client: FlaskClient, session: Session,
                                                                    source: Source, clock: ManualClock) -> None:
    """A process remembers a key it found active for a second (RECHECK_AFTER), so a busy
    source costs no lookup per rating; `hcp apikey revoke` in another process (here: the
    row changed behind this one's back) takes effect here within that second."""
    assert post(client, source, source.rating()).status_code == 201
    session.execute(update(ApiKey).where(ApiKey.id == source.key.id).values(revoked_at=NOW))
    session.commit()
    clock.advance(RECHECK_AFTER / 2)
    assert post(client, source, source.rating(id="dev-0002", follow_up=True)).status_code == 201
    clock.advance(RECHECK_AFTER / 2)
    assert post(client, source, source.rating(id="dev-0003", service_record_no="R-3",
                                              department_code=source.dept.credit_code)).status_code == 401


def test_the_keys_last_use_is_recorded_once_a_minute(client: FlaskClient, session: Session,
                                                     source: Source) -> None:
    assert source.key.last_used_at is None
    assert post(client, source, source.rating()).status_code == 201
    session.refresh(source.key)
    first = source.key.last_used_at
    assert first is not None and abs(first - datetime.now(timezone.utc)) < timedelta(minutes=1)
    assert post(client, source, source.rating(id="dev-0002", follow_up=True)).status_code == 201
    session.refresh(source.key)
    assert source.key.last_used_at == first  # not written again within the minute


def test_a_good_rating_is_stored_without_a_case(client: FlaskClient, session: Session, source: Source) -> None:
    response = post(client, source, source.rating())
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "created" and body["case_no"] is None
    rating = session.get(Rating, body["rating_id"])
    assert (rating.source, rating.external_id, rating.department_id, rating.staff_member_id) == \
        ("hall-window-03", "dev-0001", source.dept.id, source.staff.id)
    assert count(session, Case) == 0


def test_a_bad_rating_opens_its_case_in_the_same_transaction(client: FlaskClient, session: Session,
                                                              source: Source) -> None:
    response = post(client, source, source.rating(**BAD))
    assert response.status_code == 201
    body = response.get_json()
    case = session.scalar(select(Case).where(Case.case_no == body["case_no"]))
    assert case is not None and case.department_id == source.dept.id  # R5
    assert body["deadlines"]["contact"] == case.contact_due_at.astimezone(SHANGHAI).isoformat()
    assert body["deadlines"]["contact"].endswith("T23:59:59+08:00")
    assert body["deadlines_provisional"] is False
    assert session.scalar(select(HumanTask.bpmn_id).where(HumanTask.instance_id == case.instance_id)) == "triage"
    raw = session.execute(text("SELECT evaluator_phone, evaluator_name FROM rating WHERE id = :id"),
                          {"id": body["rating_id"]}).one()
    assert "13812341234" not in " ".join(raw) and "张晓明" not in " ".join(raw)


def test_the_same_rating_again_answers_the_first_result(client: FlaskClient, session: Session,
                                                         source: Source) -> None:
    first = post(client, source, source.rating(**BAD))
    again = post(client, source, source.rating(**BAD))
    assert again.status_code == 200
    assert again.get_json() == {**first.get_json(), "status": "duplicate"}
    assert count(session, Rating) == 1 and count(session, Case) == 1


def test_one_rating_per_service_record_then_one_follow_up(client: FlaskClient, session: Session,
                                                          source: Source) -> None:
    assert post(client, source, source.rating()).status_code == 201
    second = post(client, source, source.rating(id="dev-0002"))
    assert second.status_code == 409
    assert second.get_json()["errors"] == {"service_record_no": "该办件已评价（一次一评）；追评请设置 follow_up"}
    follow = post(client, source, source.rating(id="dev-0003", follow_up=True, level="非常满意"))
    assert follow.status_code == 201
    assert session.get(Rating, follow.get_json()["rating_id"]).sequence == 2
    assert post(client, source, source.rating(id="dev-0004", follow_up=True)).status_code == 409


def test_a_rating_before_its_service_record_is_kept(client: FlaskClient, session: Session,
                                                    source: Source) -> None:
    body = source.rating(service_record_no="36011220261129009999", department_code=source.dept.credit_code)
    assert post(client, source, body).status_code == 201
    record = session.scalar(select(ServiceRecord).where(ServiceRecord.record_no == "36011220261129009999"))
    assert record.awaiting_platform and record.department_id == source.dept.id
    missing = post(client, source, source.rating(id="dev-9", service_record_no="36011220261129008888"))
    assert missing.status_code == 422
    assert missing.get_json()["errors"] == {"department_code": "办件尚未同步时须提供办理部门"}


@pytest.mark.parametrize(("fields", "errors"), [
    ({"service_item_code": "NO-SUCH-ITEM"}, {"service_item_code": "未知的事项编码"}),
    ({"staff_no": "XX9999"}, {"staff_no": "办理部门中没有该工号"}),
])
def test_unknown_references_are_refused(client: FlaskClient, session: Session, source: Source,
                                        fields: dict[str, str], errors: dict[str, str]) -> None:
    response = post(client, source, source.rating(**fields))
    assert response.status_code == 422 and response.get_json()["errors"] == errors
    assert count(session, Rating) == 0


def test_a_batch_stores_the_valid_and_answers_each(client: FlaskClient, session: Session,
                                                   source: Source) -> None:
    other = ServiceRecord(record_no="36011220261120000002", service_item=source.item, department=source.dept)
    session.add(other)
    session.commit()
    items = [source.rating(**BAD), source.rating(id="dev-0002", level=9),
             source.rating(id="dev-0003", service_record_no=other.record_no), source.rating(**BAD)]
    response = post(client, source, {"evaluations": items})
    assert response.status_code == 200
    body = response.get_json()
    assert [r["status"] for r in body["results"]] == ["created", "invalid", "created", "duplicate"]
    assert "level" in body["results"][1]["errors"]
    assert body["summary"] == {"created": 2, "duplicate": 1, "invalid": 1, "conflict": 0}
    assert count(session, Rating) == 2


def test_a_batch_checks_each_rating_against_the_ones_before_it(client: FlaskClient, session: Session,
                                                                source: Source) -> None:
    """A record new to the system is created by its first rating and then rated once more
    only as a follow-up; staff numbers belong to the handling department."""
    new = {"service_record_no": "R-BATCH-NEW", "department_code": source.dept.credit_code}
    items = [source.rating(id="b-1", **new), source.rating(id="b-2", **new),
             source.rating(id="b-3", follow_up=True, **new), source.rating(id="b-4", follow_up=True, **new),
             source.rating(id="b-5", service_record_no="R-BATCH-NEW-2", follow_up=True,
                           department_code=source.dept.credit_code),
             source.rating(id="b-6", staff_no="NOBODY", service_record_no="R-BATCH-NEW-3",
                           department_code=source.dept.credit_code),
             source.rating(id="b-1", **new)]
    body = post(client, source, {"evaluations": items}).get_json()
    assert [r["status"] for r in body["results"]] == [
        "created", "conflict", "created", "conflict", "invalid", "invalid", "duplicate"]
    assert body["results"][6]["rating_id"] == body["results"][0]["rating_id"]
    assert set(body["results"][5]["errors"]) == {"staff_no"}
    record = session.scalar(select(ServiceRecord).where(ServiceRecord.record_no == "R-BATCH-NEW"))
    assert record.awaiting_platform
    sequences = session.scalars(select(Rating.sequence).where(Rating.service_record_id == record.id)
                                .order_by(Rating.sequence)).all()
    assert sequences == [1, 2]
    assert session.scalar(select(func.count()).select_from(ServiceRecord)
                          .where(ServiceRecord.record_no.in_(["R-BATCH-NEW-2", "R-BATCH-NEW-3"]))) == 0


@pytest.mark.parametrize(("body", "status"), [
    ({"evaluations": []}, 422),
    ({"evaluations": [{}] * 1001}, 413),
])
def test_batch_limits(client: FlaskClient, source: Source, body: Any, status: int) -> None:
    assert post(client, source, body).status_code == status


def test_body_limits(client: FlaskClient, source: Source) -> None:
    huge = client.post("/api/v1/evaluations", data="x" * (5 * 1024 * 1024), headers={
        **source.headers(), "Content-Type": "application/json"})
    assert huge.status_code == 413
    not_json = client.post("/api/v1/evaluations", data="level=5", headers={
        **source.headers(), "Content-Type": "application/x-www-form-urlencoded"})
    assert not_json.status_code == 415
    broken = client.post("/api/v1/evaluations", data="{", headers={
        **source.headers(), "Content-Type": "application/json"})
    assert broken.status_code == 400 and broken.get_json()["error"]["detail"] == "请求体不是有效的JSON"


def test_apikey_commands(app: Flask, session: Session) -> None:
    runner = app.test_cli_runner()
    created = runner.invoke(args=["apikey", "create", "--name", "qr-hall-1", "--channel", "qr_code"])
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    assert token.startswith("hcp_") and len(token) > 40
    key = session.scalar(select(ApiKey).where(ApiKey.name == "qr-hall-1"))
    assert token not in key.key_hash and key.prefix == token[:12]
    listed = runner.invoke(args=["apikey", "list"])
    assert "qr-hall-1" in listed.output and token not in listed.output
    again = runner.invoke(args=["apikey", "create", "--name", "qr-hall-1", "--channel", "qr_code"])
    assert again.exit_code == 2 and "exists already" in again.output
    bad = runner.invoke(args=["apikey", "create", "--name", "x", "--channel", "fax"])
    assert bad.exit_code == 2 and "Invalid value for '--channel'" in bad.output
    assert runner.invoke(args=["apikey", "revoke", "qr-hall-1"]).output.strip() == "qr-hall-1: revoked"


def test_rate_limit_per_key(tmp_path) -> None:
    from app import migrate
    from app.extensions import db

    from .conftest import make_app

    app = make_app(f"sqlite:///{tmp_path / 'limit.sqlite'}", tmp_path, API_RATE_LIMIT="3/minute")
    with app.app_context():
        migrate.upgrade(db.engine)
        source = Source(db.session)
        _key, other = create_key(db.session, "portal-2", Channel.WEB_PORTAL, "admin", NOW)
        db.session.commit()
        client = app.test_client()
        answers = [post(client, source, source.rating(id=f"r-{n}")).status_code for n in range(4)]
        assert answers[:3] != [429] * 3 and answers[3] == 429
        limited = post(client, source, source.rating(id="r-9"))
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
        assert limited.get_json()["error"]["message"] == "请求过于频繁，请稍后再试"
        assert post(client, source, source.rating(id="o-1"), Authorization=f"Bearer {other}").status_code != 429
        db.engine.dispose()
