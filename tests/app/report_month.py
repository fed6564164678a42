"""A month of known data, built by hand, for the report and bulletin tests: October 2026
(National Day 10-01 to 10-07 off, Saturday 10-10 a make-up working day), with September as
the month before.

Departments: 医保局 (A), 民政局 (B), 市场监管局 (C: owns an item, never rated), and the
service centre (verifiers, owns nothing). Items a1 a2 a3 (A), b1 b2 (B), c1 (C), a4
inactive; staff sa1 sa2 sa3 (A), sb1 (B). a3, c1 and sa3 receive no rating in October.

Ten cases, worked on the engine clock through the shipped processes (deadlines from the
2026 calendar; "WD" = working day):

C1  A real-name 非常不满意 mobile, received 10-07 (holiday): contact due 10-10 (make-up
    Saturday) and done at exactly 10-10 23:59:59; reported 10-12 (due 10-13); visited; filed.
C2  A real-name 不满意 QR sa1, received 10-12: contact due 10-15, missed (swept 10-16), done
    late 10-16; made complex (15 WD: due 11-02); reported 10-28; visited; filed 10-29.
C3  A anonymous 不满意 window sa1, received 10-13: appeal upheld 10-15 (rating excluded).
C4  A real-name 不满意 web sa2, received 10-14: contact on time; appeal rejected, recheck
    confirms it; the 3 WD left run from 10-20 (due 10-23), missed (swept 10-24); reported
    late 10-26; visited; filed 10-27 (after its deadline).
C5  B real-name 不满意 window sb1, received 10-20: contact on time; appeal pending at the report.
C6  B real-name 非常不满意 hotline, received 10-26: contact due 10-29 missed (swept 10-30), open.
C7  B anonymous 不满意 web, received 10-29: resolved on the spot, filed 10-30.
C8  A real-name 不满意 mobile, received 10-31 (Saturday): waits at triage.
C9  A real-name 非常不满意 window sa2, received 10-09: contact on time, problem not real
    (explained), return visit could not reach the citizen; filed 10-14.
C10 B real-name 不满意 self-service sb1, received 10-08: resolved on the spot, visited, filed 10-09.

Follow-ups: on C1's record 10-15 (非常满意, after its case closed) and on C4's record 10-20
(基本满意, before its case closed). The report is made at 2026-11-02 09:00, the first
working day of November.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from app.extensions import db
from app.models import (Case, Channel, Department, Dimension, IdType, ItemKind, Level, Rating, RatingDimension, Role,
                        ServiceItem, ServiceRecord, StaffMember, User)
from app.services import calendar_years
from app.services.cases import open_case
from app.services.engine_runtime import make_engine
from workflows.clock import ManualClock
from workflows.sweep import sweep

from . import factories
from .test_cases import CONTACTED, REPORTED, beijing, work

AS_OF = "2026-11-02T09:00:00"
VS, S, BS = Level.VERY_SATISFIED, Level.SATISFIED, Level.BASICALLY_SATISFIED
D, VD = Level.DISSATISFIED, Level.VERY_DISSATISFIED
W, QR, WEB, APP = Channel.WINDOW_DEVICE, Channel.QR_CODE, Channel.WEB_PORTAL, Channel.MOBILE_APP
SELF, HOT, SMS = Channel.SELF_SERVICE, Channel.HOTLINE, Channel.SMS
VISITED = {"visited": True, "visit_method": "phone", "citizen_satisfied": True}
_numbers = itertools.count(1)


@dataclass
class Month:
    a: Department
    b: Department
    c: Department
    centre: Department
    items: dict[str, ServiceItem]
    staff: dict[str, StaffMember]
    users: dict[str, User]
    cases: dict[str, Case] = field(default_factory=dict)
    records: dict[str, ServiceRecord] = field(default_factory=dict)


def _item(session: Session, dept: Department, name: str, *, active: bool = True) -> ServiceItem:
    item = ServiceItem(code=f"3601120000{next(_numbers):04d}", name=name, kind=ItemKind.PUBLIC_SERVICE,
                       department=dept, active=active)
    session.add(item)
    return item


def _staff(session: Session, dept: Department, name: str) -> StaffMember:
    member = StaffMember(department=dept, staff_no=f"G{next(_numbers):04d}", name=name, window="综合窗口")
    session.add(member)
    return member


def rating(session: Session, month: Month, dept: Department, when: str, level: Level, channel: Channel, *,
           item: str, staff: str | None = None, real_name: bool = False, sequence: int = 1,
           record: ServiceRecord | None = None, dims: tuple[Dimension, ...] = ()) -> Rating:
    moment = beijing(when)
    if record is None:
        record = ServiceRecord(record_no=f"BJ{next(_numbers):08d}", service_item=month.items[item], department=dept,
                               staff_member=month.staff[staff] if staff else None)
    result = Rating(source="month", external_id=f"month-{next(_numbers)}", service_record=record,
                    service_item=month.items[item], department=dept,
                    staff_member=month.staff[staff] if staff else None, channel=channel, level=level,
                    comment="等候时间太长" if level.is_bad else None, sequence=sequence, evaluated_at=moment,
                    received_at=moment, real_name=real_name)
    if real_name:
        result.set_evaluator(name="李四", phone="13900001111", id_type=IdType.RESIDENT_ID, id_no="360102199001011234")
    result.dimension_tags = [RatingDimension(dimension=d) for d in dims]
    session.add(result)
    session.flush()
    return result


def _world(session: Session) -> Month:
    calendar_years.reset_calendar()
    a = factories.department(session, "新建区医疗保障局")
    b = factories.department(session, "新建区民政局")
    c = factories.department(session, "新建区市场监督管理局")
    centre = factories.department(session, "新建区政务服务中心", service_center=True)
    items = {"a1": _item(session, a, "医保关系转移"), "a2": _item(session, a, "异地就医备案"),
             "a3": _item(session, a, "医保待遇核定"), "a4": _item(session, a, "已停用事项", active=False),
             "b1": _item(session, b, "低保申请"), "b2": _item(session, b, "婚姻登记"),
             "c1": _item(session, c, "个体工商户登记")}
    staff = {"sa1": _staff(session, a, "王一"), "sa2": _staff(session, a, "王二"), "sa3": _staff(session, a, "王三"),
             "sb1": _staff(session, b, "赵一")}
    users = {"hA": factories.user(session, "ybj.h", [Role.HANDLER], a),
             "lA": factories.user(session, "ybj.lead", [Role.LEAD], a),
             "hB": factories.user(session, "mzj.h", [Role.HANDLER], b),
             "lB": factories.user(session, "mzj.lead", [Role.LEAD], b),
             "v1": factories.user(session, "zx.v1", [Role.VERIFIER], centre),
             "v2": factories.user(session, "zx.v2", [Role.VERIFIER], centre),
             "sup": factories.user(session, "dc.sup", [Role.SUPERVISOR]),
             "aud": factories.user(session, "sj.aud", [Role.AUDITOR]),
             "adm": factories.user(session, "xt.adm", [Role.ADMIN])}
    session.flush()
    return Month(a, b, c, centre, items, staff, users)


def _plain_ratings(session: Session, m: Month) -> None:
    """Ratings without cases: September, October's good ratings, and the boundaries."""
    a, b = m.a, m.b
    # September: A 8 非常满意 (one at 09-30 23:59:59) and 2 不满意; B 5 非常满意.
    for day in range(1, 8):
        rating(session, m, a, f"2026-09-{day + 7:02d}T10:00:00", VS, W, item="a1", staff="sa1")
    rating(session, m, a, "2026-09-30T23:59:59", VS, WEB, item="a2")
    for day in (14, 15):
        rating(session, m, a, f"2026-09-{day}T10:00:00", D, W, item="a1", staff="sa1", dims=(Dimension.FEES,))
    for day in range(1, 6):
        rating(session, m, b, f"2026-09-{day + 14:02d}T11:00:00", VS, W, item="b1", staff="sb1")
    # October, A: 6 非常满意, 3 满意, 2 基本满意.
    for when, level, channel, item, staff in (
            ("10-08T09:10", VS, W, "a1", "sa1"), ("10-09T09:10", VS, W, "a2", "sa1"), ("10-12T09:10", VS, W, "a1", "sa2"),
            ("10-13T09:10", VS, QR, "a2", "sa2"), ("10-14T20:00", VS, WEB, "a1", None),
            ("10-31T23:59:59", VS, WEB, "a2", None),
            ("10-15T09:10", S, W, "a1", "sa1"), ("10-16T09:10", S, W, "a2", "sa2"), ("10-19T21:00", S, APP, "a1", None),
            ("10-20T09:10", BS, SELF, "a2", "sa1"), ("10-21T09:10", BS, W, "a1", "sa2")):
        rating(session, m, a, f"2026-{when}", level, channel, item=item, staff=staff)
    # October, B: 70 非常满意 (60 at the window), 4 满意, 1 基本满意.
    for number in range(60):
        rating(session, m, b, f"2026-10-{8 + number % 20:02d}T{8 + number % 9:02d}:30:00", VS, W, item="b1",
               staff="sb1")
    for when, level, channel, item, staff in (
            ("10-01T00:00:00", VS, WEB, "b2", None), ("10-12T10:00", VS, WEB, "b2", None),
            ("10-13T10:00", VS, APP, "b1", None), ("10-14T10:00", VS, APP, "b2", None),
            ("10-15T10:00", VS, SMS, "b1", None), ("10-16T10:00", VS, W, "b2", "sb1"),
            ("10-19T10:00", VS, W, "b1", "sb1"), ("10-20T10:00", VS, W, "b2", "sb1"),
            ("10-21T10:00", VS, W, "b1", "sb1"), ("10-22T10:00", VS, W, "b2", "sb1"),
            ("10-23T10:00", S, W, "b1", "sb1"), ("10-26T10:00", S, W, "b2", "sb1"),
            ("10-27T10:00", S, HOT, "b1", None), ("10-28T10:00", S, QR, "b2", "sb1"),
            ("10-29T10:00", BS, SELF, "b1", "sb1")):
        rating(session, m, b, f"2026-{when}", level, channel, item=item, staff=staff)
    # Outside October: November's first second.
    rating(session, m, a, "2026-11-01T00:00:00", VS, W, item="a1", staff="sa1")


def build_month(session: Session, clock: ManualClock) -> Month:
    m = _world(session)
    _plain_ratings(session, m)
    u, cases = m.users, m.cases

    def at(when: str) -> None:
        clock.set(beijing(f"2026-{when}"))

    def bad(name: str, dept: Department, when: str, level: Level, channel: Channel, *, item: str,
            staff: str | None = None, real_name: bool, dims: tuple[Dimension, ...]) -> None:
        at(when)
        new = rating(session, m, dept, f"2026-{when}", level, channel, item=item, staff=staff, real_name=real_name,
                     dims=dims)
        m.records[name] = new.service_record
        cases[name] = open_case(session, new)
        session.commit()

    def step(when: str, name: str, task: str, user: str, **values: object) -> None:
        at(when)
        work(session, cases[name], task, u[user], **values)

    def swept(when: str, fired: int) -> None:
        at(when)
        session.commit()  # the sweep works in sessions of its own
        assert sweep(db.sessionmaker, make_engine).fired == fired
        session.expire_all()

    A, B = m.a, m.b
    bad("C1", A, "10-07T10:00:00", VD, APP, item="a1", real_name=True, dims=(Dimension.EFFICIENCY,))
    step("10-08T09:00:00", "C1", "triage", "hA", solved_on_spot=False)
    bad("C10", B, "10-08T10:00:00", D, SELF, item="b1", staff="sb1", real_name=True, dims=(Dimension.EFFICIENCY,))
    step("10-08T10:30:00", "C10", "triage", "hB", solved_on_spot=True, on_spot_measures="当场补办并致歉")
    step("10-09T10:00:00", "C10", "return_visit", "hB", **VISITED)
    step("10-09T11:00:00", "C10", "file_record", "lB", filing_summary="当场解决，回访满意")
    bad("C9", A, "10-09T16:00:00", VD, W, item="a2", staff="sa2", real_name=True, dims=(Dimension.ONE_WINDOW,))
    step("10-09T16:30:00", "C9", "triage", "hA", solved_on_spot=False)
    step("10-10T23:59:59", "C1", "contact_citizen", "hA", **CONTACTED)  # exactly at the deadline, make-up Saturday
    bad("C2", A, "10-12T09:00:00", D, QR, item="a1", staff="sa1", real_name=True,
        dims=(Dimension.MATERIALS, Dimension.TRIPS))
    step("10-12T10:00:00", "C2", "triage", "hA", solved_on_spot=False)
    step("10-12T10:30:00", "C1", "rectify", "hA", **REPORTED)
    step("10-12T11:00:00", "C9", "contact_citizen", "hA", **{**CONTACTED, "problem_exists": False,
                                                             "explanation": "系政策规定，已解释"})
    step("10-13T09:00:00", "C1", "return_visit", "hA", **VISITED)
    step("10-13T10:00:00", "C1", "file_record", "lA", filing_summary="整改到位")
    bad("C3", A, "10-13T14:00:00", D, W, item="a1", staff="sa1", real_name=False, dims=(Dimension.FEES,))
    step("10-13T14:30:00", "C3", "triage", "hA", solved_on_spot=False)
    step("10-14T09:00:00", "C9", "return_visit", "hA", visited=False, visit_method="phone",
         citizen_satisfied=False)
    step("10-14T09:30:00", "C9", "file_record", "lA", filing_summary="已解释说明")
    bad("C4", A, "10-14T10:00:00", D, WEB, item="a2", staff="sa2", real_name=True, dims=(Dimension.PROCESS,))
    step("10-14T10:30:00", "C4", "triage", "hA", solved_on_spot=False)
    step("10-14T11:00:00", "C3", "rectify", "hA", action="appeal")
    step("10-14T11:30:00", "C3", "file_appeal", "hA", appeal_reason="malicious", appeal_explanation="恶意差评",
         evidence_note="监控")
    step("10-15T09:00:00", "C3", "decide_appeal", "v1", appeal_decision="upheld", decision_reason="证据充分")
    step("10-15T10:00:00", "C4", "contact_citizen", "hA", **CONTACTED)
    at("10-15T12:00:00")
    rating(session, m, A, "2026-10-15T12:00:00", VS, APP, item="a1", sequence=2, record=m.records["C1"])
    swept("10-16T08:00:00", 2)  # C2: contact warning and deadline
    step("10-16T10:00:00", "C2", "contact_citizen", "hA", **CONTACTED)
    step("10-16T11:00:00", "C2", "rectify", "hA", action="complex")
    step("10-16T11:05:00", "C2", "request_complex", "hA", complex_reason="涉及跨部门数据共享")
    step("10-16T14:00:00", "C4", "rectify", "hA", action="appeal")
    step("10-16T14:30:00", "C4", "file_appeal", "hA", appeal_reason="mistaken", appeal_explanation="误评",
         evidence_note="办件记录")
    step("10-19T10:00:00", "C4", "decide_appeal", "v1", appeal_decision="rejected", decision_reason="证据不足")
    step("10-19T11:00:00", "C4", "consider_recheck", "hA", request_recheck=True, recheck_reason="补充材料")
    step("10-20T09:00:00", "C4", "decide_recheck", "v2", recheck_decision="confirmed", recheck_opinion="维持")
    bad("C5", B, "10-20T10:00:00", D, W, item="b2", staff="sb1", real_name=True, dims=(Dimension.MECHANISM,))
    step("10-20T10:30:00", "C5", "triage", "hB", solved_on_spot=False)
    at("10-20T12:00:00")
    rating(session, m, A, "2026-10-20T12:00:00", BS, WEB, item="a2", staff="sa2", sequence=2, record=m.records["C4"])
    step("10-21T10:00:00", "C5", "contact_citizen", "hB", **CONTACTED)
    step("10-22T10:00:00", "C5", "rectify", "hB", action="appeal")
    step("10-22T10:30:00", "C5", "file_appeal", "hB", appeal_reason="other", appeal_explanation="其他",
         evidence_note="无")
    swept("10-24T08:00:00", 2)  # C4: rectification warning and deadline
    bad("C6", B, "10-26T09:00:00", VD, HOT, item="b1", real_name=True, dims=(Dimension.EFFICIENCY,))
    step("10-26T09:30:00", "C6", "triage", "hB", solved_on_spot=False)
    step("10-26T10:00:00", "C4", "rectify", "hA", **REPORTED)
    step("10-27T10:00:00", "C4", "return_visit", "hA", **VISITED)
    step("10-27T11:00:00", "C4", "file_record", "lA", filing_summary="整改完成")
    step("10-28T10:00:00", "C2", "rectify", "hA", **REPORTED)
    step("10-29T10:00:00", "C2", "return_visit", "hA", **VISITED)
    step("10-29T11:00:00", "C2", "file_record", "lA", filing_summary="复杂件整改完成")
    bad("C7", B, "10-29T15:00:00", D, WEB, item="b2", real_name=False, dims=(Dimension.PROCESS,))
    step("10-29T15:30:00", "C7", "triage", "hB", solved_on_spot=True, on_spot_measures="现场指导办理")
    swept("10-30T08:00:00", 2)  # C6: contact warning and deadline
    step("10-30T10:00:00", "C7", "file_record", "lB", filing_summary="当场解决")
    bad("C8", A, "10-31T11:00:00", D, APP, item="a1", real_name=True, dims=(Dimension.EFFICIENCY,))
    at("11-02T09:00:00")
    return m


def as_of() -> datetime:
    return beijing(AS_OF)
