"""What goes to the provincial system (R11): every rating and case milestone, written to the
outbox in the transaction of the change, in the national interface's codes, without
evaluators' personal data."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.clock import ManualClock

from app.models import Case, Channel, Dimension, OutboxRecord
from app.services import calendar_years
from app.services.cases import open_case
from app.services.province_records import CHANNEL_CODES, DIMENSION_CODES, MILESTONES, milestone_of_task

from .test_cases import CONTACTED, REPORTED, District, bad_rating, work
from .test_intake_api import BAD, Source, post


@pytest.fixture
def source(session: Session) -> Source:
    return Source(session)


def outbox(session: Session) -> list[OutboxRecord]:
    return list(session.scalars(select(OutboxRecord).order_by(OutboxRecord.id)))


def test_codes_cover_every_channel_and_dimension_once() -> None:
    assert set(CHANNEL_CODES) == set(Channel) and len(set(CHANNEL_CODES.values())) == len(Channel)
    assert set(DIMENSION_CODES) == set(Dimension) and DIMENSION_CODES[Dimension.FEES] == "09"


def test_a_rating_goes_out_in_national_codes_without_personal_data(client: FlaskClient, session: Session,
                                                                   source: Source) -> None:
    post(client, source, source.rating(**BAD))
    records = outbox(session)
    assert [(r.kind, r.stream.split(":")[0]) for r in records] == [("evaluation", "rating"),
                                                                   ("case_milestone", "case")]
    evaluation = records[0].payload
    assert evaluation["satisfaction"] == 2  # 不满意 (national: 5 非常满意 … 1 非常不满意)
    assert evaluation["evaluateChannel"] == "4" and evaluation["evalDetail"] == ["04"]
    assert evaluation["evaluateNum"] == 1 and evaluation["anonymous"] is False
    assert evaluation["deptCode"] == source.dept.credit_code and evaluation["projectNo"] == source.record.record_no
    # the rating named neither department nor staff: both come from the platform's record
    assert evaluation["staffNo"] == source.staff.staff_no and evaluation["taskCode"] == source.item.code
    dump = json.dumps([r.payload for r in records], ensure_ascii=False)
    assert "13812341234" not in dump and "张晓明" not in dump
    assert records[1].payload["milestone"] == "opened" and records[0].status == "pending"


def test_a_case_reports_each_milestone_in_order(session: Session, clock: ManualClock) -> None:
    calendar_years.reset_calendar()
    district = District(session)
    case = open_case(session, bad_rating(session, district, clock))
    session.commit()
    work(session, case, "triage", district.h1, solved_on_spot=False)
    work(session, case, "contact_citizen", district.h1, **CONTACTED)
    work(session, case, "rectify", district.h1, **REPORTED)
    work(session, case, "return_visit", district.h2, visited=True, visit_method="phone", citizen_satisfied=True)
    work(session, case, "file_record", district.lead, filing_summary="整改到位，予以备案")
    stream = [r.payload for r in outbox(session) if r.stream == f"case:{case.case_no}"]
    assert [p["milestone"] for p in stream] == ["opened", "contacted", "rectified", "return_visited", "filed",
                                                "closed"]
    assert stream[-1]["outcome"] == "rectified" and stream[1]["problemExists"] is True
    assert session.get(Case, case.id).status.value == "closed"


def test_every_milestone_is_known() -> None:
    for bpmn_id, values in (("contact_citizen", {}), ("rectify", {"action": "report"}), ("return_visit", {}),
                            ("file_record", {}), ("decide_appeal", {}), ("decide_recheck", {})):
        found = milestone_of_task(bpmn_id, values)
        assert found is not None and found[0] in MILESTONES
    assert milestone_of_task("rectify", {"action": "complex"}) is None
    assert milestone_of_task("triage", {}) is None
