"""``hcp simulate``: a realistic stream of ratings for the demo district, fed through the
intake service (R3) as the devices, portals and the 一窗式 platform would feed it.

The stream is a pure function of the seed and the day: each day draws from its own
random generator, so the same seed and range give the same ratings (and the same source
ids, which makes a second run store nothing), and overlapping ranges agree.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import calendars
from calendars import SHANGHAI
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.clock import ManualClock, using_clock

from ..identifiers import make_uscc
from ..models import ApiKey, Channel, Department, Dimension, ItemKind, Level, ServiceItem, ServiceRecord, StaffMember
from . import demo_data as data
from .api_keys import create_key
from .calendar_years import sync_calendar
from .intake import CREATED, DUPLICATE, INVALID, ingest

EARLIEST_DAY = date(2018, 1, 1)
MAX_SEED, MAX_PER_DAY = 999_999, 99_999  # record numbers carry six seed and five sequence digits
COMMIT_EVERY = 500
CHANNEL_MIX = {Channel.WINDOW_DEVICE: 45, Channel.QR_CODE: 15, Channel.WEB_PORTAL: 15, Channel.MOBILE_APP: 15,
               Channel.SELF_SERVICE: 5, Channel.HOTLINE: 3, Channel.SMS: 2}
ONLINE_MIX = {channel: weight for channel, weight in CHANNEL_MIX.items() if not channel.is_hall}
DAY_OFF_SHARE = 0.05  # ratings on a weekend or holiday, online only, relative to a working day
BAD_SHARE, FOLLOW_UP_SHARE, REAL_NAME_SHARE, RESIDENT_ID_SHARE = 0.003, 0.01, 0.4, 0.3
GOOD_LEVELS = {Level.VERY_SATISFIED: 66, Level.SATISFIED: 28, Level.BASICALLY_SATISFIED: 6}
# Online ratings by hour of day (Beijing time): quiet at night, busiest in office hours.
ONLINE_HOURS = (1, 1, 1, 1, 1, 2, 4, 7, 11, 14, 14, 12, 9, 10, 13, 14, 12, 10, 9, 10, 10, 8, 5, 2)

GOOD_COMMENTS = ("办事效率高，点赞|工作人员态度好，耐心解答|一次就办好了，不用跑第二趟|材料一次性告知，很方便|"
                 "网上就办好了，很方便|比以前快多了|服务热情周到|流程清楚，指引到位|自助机操作简单").split("|")
FOLLOW_UP_COMMENTS = "证照已经收到，点赞|整改后办理很顺利|回访很及时，问题解决了|后续进度随时能查到，很放心".split("|")
# Comments with the dimensions (R2, by label) they point at.
BASIC_REMARKS = {"等待时间有点长": "服务效率", "叫号指引不够清楚": "办事流程", "希望周末也能办理": "服务机制", "停车不太方便": ""}
BAD_REMARKS = {
    "排队时间长，等了一个多小时": "服务效率", "材料要求反复，来回跑了三趟": "办事材料 跑动次数",
    "窗口人员态度差，问几句就不耐烦": "一窗服务", "系统卡顿，提交了好几次都失败": "服务效率 办事流程",
    "一次性告知不到位，补正材料没讲清楚": "办事材料", "超过承诺时限还没办结": "服务效率",
    "能内部核验的证明还要自己去开": "办事材料 跑动次数", "几个部门之间来回跑": "一门服务 跑动次数",
    "一件事要跑好几个窗口": "一窗服务 一链服务", "收费标准没有公示": "服务收费", "网上预约一直约不上": "服务机制",
    "网上办理找不到入口": "办事流程", "咨询电话一直没人接": "服务机制", "审批环节太多，要层层签字": "办事流程 一链服务",
}
MOBILE_PREFIXES = "30 31 32 33 35 36 37 38 39 50 51 52 55 56 57 58 59 73 77 80 81 82 83 85 86 87 88 89 91 99".split()
ID_REGIONS = "360102 360103 360104 360111 360112 360113 360121 360123 360124".split()
FIRM_WORDS, FIRM_KINDS = "赣江 恒信 鑫源 华瑞 昌达 新景 博创 联益 宏图 望城".split(), "商贸 建筑工程 餐饮管理 科技 物流 医药连锁".split()
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # GB 11643
_ID_CHECK = "10X98765432"


class SimulationError(Exception):
    """The simulation cannot run; the message is one line for the operator."""


@dataclass(frozen=True)
class CatalogueItem:
    """A service item of the demo district, with the staff (id, 工号) of its department."""

    code: str
    item_id: int
    department_id: int
    kind: ItemKind
    promised_days: int
    staff: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class SimRating:
    channel: Channel
    level: Level
    received_at: datetime
    payload: dict[str, Any]  # the JSON a device would send to POST /api/v1/evaluations
    # The service record (办件) as the 一窗式 platform reports it before the rating: ServiceRecord's
    # columns; None for a follow-up, whose record exists already.
    record: dict[str, Any] | None


@dataclass
class SimulationResult:
    stored: int = 0
    duplicates: int = 0
    invalid: int = 0
    conflicts: int = 0
    cases_opened: int = 0
    problems: list[str] = field(default_factory=list)  # the first few refusals, for the operator


def refuse_production(env: str) -> None:
    if env == "production":
        raise SimulationError("simulate refuses to run with HCP_ENV=production: it stores made-up ratings")


def source_name(channel: Channel) -> str:
    return "sim-" + channel.value.replace("_", "-")


class RatingStream:
    """Generates the ratings of a range of days; needs no database."""

    def __init__(self, catalogue: Sequence[CatalogueItem], seed: int, per_day: int, *, bad_share: float = BAD_SHARE,
                 working_day: Callable[[date], bool] = calendars.is_working_day) -> None:
        if not 0 <= seed <= MAX_SEED or not 1 <= per_day <= MAX_PER_DAY:
            raise SimulationError(f"--seed must be 0-{MAX_SEED} and --per-day 1-{MAX_PER_DAY}")
        self.catalogue, self.seed, self.per_day, self.bad_share = list(catalogue), seed, per_day, bad_share
        self.working_day = working_day
        # Quick items (≤ 1 working day: invoices, social security, registrations) are handled most often.
        self._items = list(itertools.accumulate(3 if item.promised_days <= 1 else 1 for item in self.catalogue))

    def ratings(self, start: date, end: date) -> Iterator[SimRating]:
        """Every rating received from ``start`` to ``end``, in order of receipt. Follow-ups (追评)
        come 2 hours to 5 days after their first rating; those falling after ``end`` are left out."""
        pending: list[tuple[datetime, str, SimRating]] = []
        day = start
        while day <= end:
            ratings = self._day(day, pending)
            midnight = datetime.combine(day + timedelta(days=1), time(), SHANGHAI)
            while pending and pending[0][0] < midnight:
                ratings.append(heapq.heappop(pending)[2])
            yield from sorted(ratings, key=lambda r: (r.received_at, r.payload["id"]))
            day += timedelta(days=1)

    def _day(self, day: date, pending: list[tuple[datetime, str, SimRating]]) -> list[SimRating]:
        rng = random.Random(f"hcp-simulate:{self.seed}:{day.isoformat()}")
        working = self.working_day(day)
        mix = CHANNEL_MIX if working else ONLINE_MIX  # a few online ratings on days off
        channels, weights = list(mix), list(itertools.accumulate(mix.values()))
        result = []
        for sequence in range(1, (self.per_day if working else round(self.per_day * DAY_OFF_SHARE)) + 1):
            first = self._first(rng, day, sequence, rng.choices(channels, cum_weights=weights)[0])
            result.append(first)
            if rng.random() < FOLLOW_UP_SHARE:
                later = self._follow_up(rng, first)
                heapq.heappush(pending, (later.received_at, later.payload["id"], later))
        return result

    def _first(self, rng: random.Random, day: date, sequence: int, channel: Channel) -> SimRating:
        item = rng.choices(self.catalogue, cum_weights=self._items)[0]
        evaluated = _moment(rng, day, channel.is_hall)
        staff_id, staff_no = rng.choice(item.staff)
        completed = evaluated - timedelta(minutes=rng.randrange(1, 20) if channel.is_hall else rng.randrange(5, 720))
        if item.promised_days <= 1:
            accepted = completed - timedelta(minutes=rng.randrange(5, 60))
        else:
            back = self._working_days_before(completed.astimezone(SHANGHAI).date(), rng.randint(1, item.promised_days))
            accepted = datetime.combine(back, time(9), SHANGHAI) + timedelta(minutes=rng.randrange(0, 480))
        # 办件编号: district, day of the rating, seed, sequence — unique per seed, the same in every run.
        record = {"record_no": f"{data.REGION_CODE}{day:%Y%m%d}{self.seed:06d}{sequence:05d}",
                  "service_item_id": item.item_id, "department_id": item.department_id, "staff_member_id": staff_id,
                  "accepted_at": accepted, "completed_at": completed}
        level = self._level(rng)
        payload: dict[str, Any] = {
            "id": f"sim-{self.seed}-{day:%Y%m%d}-{sequence:05d}", "service_record_no": record["record_no"],
            "service_item_code": item.code, "channel": channel.value, "level": level.label,
            "evaluated_at": evaluated.isoformat(), "region_code": data.REGION_CODE}
        if channel is Channel.WINDOW_DEVICE:  # the device sits at the staff member's window
            payload["staff_no"] = staff_no
        _remarks(rng, level, payload, follow_up=False)
        if rng.random() < REAL_NAME_SHARE:
            payload["evaluator"] = _evaluator(rng, item)
        return SimRating(channel, level, _received(rng, evaluated, channel), payload, record)

    def _follow_up(self, rng: random.Random, first: SimRating) -> SimRating:
        evaluated = first.received_at + timedelta(minutes=rng.randrange(120, 5 * 24 * 60))
        channel = rng.choices(list(ONLINE_MIX), weights=list(ONLINE_MIX.values()))[0]
        if first.level.is_bad:  # after rectification most are content, some are not
            level = rng.choices([Level.VERY_SATISFIED, Level.SATISFIED, Level.BASICALLY_SATISFIED,
                                 Level.DISSATISFIED], weights=[30, 30, 25, 15])[0]
        else:
            level = self._level(rng)
        payload = {key: first.payload[key] for key in ("service_record_no", "service_item_code", "region_code",
                                                        "evaluator") if key in first.payload}
        payload.update({"id": first.payload["id"] + "-f", "channel": channel.value, "level": level.label,
                        "evaluated_at": evaluated.isoformat(), "follow_up": True})  # the same person rates again
        _remarks(rng, level, payload, follow_up=True)
        return SimRating(channel, level, _received(rng, evaluated, channel), payload, None)

    def _level(self, rng: random.Random) -> Level:
        if rng.random() < self.bad_share:  # 不满意 : 非常不满意 = 2 : 1
            return Level.DISSATISFIED if rng.random() < 2 / 3 else Level.VERY_DISSATISFIED
        return rng.choices(list(GOOD_LEVELS), weights=list(GOOD_LEVELS.values()))[0]

    def _working_days_before(self, day: date, count: int) -> date:
        while count:
            day -= timedelta(days=1)
            try:
                count -= self.working_day(day)
            except calendars.CalendarYearMissing:  # only when a record was accepted, never a deadline
                count -= day.weekday() < 5
        return day


def _moment(rng: random.Random, day: date, hall: bool) -> datetime:
    if hall:  # 8:30-17:30, fewer around lunch
        minute = rng.randrange(0, 540)
        if 210 <= minute < 330 and rng.random() < 0.4:
            minute = rng.randrange(0, 540)
        return datetime.combine(day, time(8, 30), SHANGHAI) + timedelta(minutes=minute, seconds=rng.randrange(60))
    hour = rng.choices(range(24), weights=ONLINE_HOURS)[0]
    return datetime.combine(day, time(hour), SHANGHAI) + timedelta(seconds=rng.randrange(3600))


def _received(rng: random.Random, evaluated: datetime, channel: Channel) -> datetime:
    """Devices and portals send at once; hotline and SMS ratings are keyed in a little later."""
    delay = rng.randrange(60, 240) if channel in (Channel.HOTLINE, Channel.SMS) else rng.randrange(1, 30)
    return evaluated + timedelta(seconds=delay)


def _remarks(rng: random.Random, level: Level, payload: dict[str, Any], *, follow_up: bool) -> None:
    """Dimensions (R2) and a short comment: always for a bad rating, sometimes otherwise."""
    if level.is_bad:
        picked = rng.sample(list(BAD_REMARKS), 2 if rng.random() < 0.25 else 1)
        comment: str | None = "；".join(picked)
        dimensions = list(dict.fromkeys(d for text in picked for d in BAD_REMARKS[text].split()))
    elif level is Level.BASICALLY_SATISFIED:
        comment = rng.choice(list(BASIC_REMARKS)) if rng.random() < 0.4 else None
        dimensions = BASIC_REMARKS[comment].split() if comment else []
    else:
        comments = FOLLOW_UP_COMMENTS if follow_up else GOOD_COMMENTS
        comment = rng.choice(comments) if rng.random() < (0.5 if follow_up else 0.12) else None
        dimensions = [d.label for d in rng.sample(list(Dimension), rng.randint(1, 2))] if rng.random() < 0.15 else []
    if dimensions:
        payload["dimensions"] = dimensions
    if comment:
        payload["comment"] = comment


def resident_id(rng: random.Random) -> str:
    """A 居民身份证 number of a Nanchang district with a valid GB 11643 check digit."""
    birth = date(1950, 1, 1) + timedelta(days=rng.randrange(55 * 365))
    body = f"{rng.choice(ID_REGIONS)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return body + _ID_CHECK[sum(int(ch) * w for ch, w in zip(body, _ID_WEIGHTS)) % 11]


def _evaluator(rng: random.Random, item: CatalogueItem) -> dict[str, Any]:
    phone = "1" + rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10 ** 8):08d}"
    if item.kind is ItemKind.LICENSING and rng.random() < 0.5:  # a company rates its licence
        return {"real_name": True, "person_type": "legal_entity", "phone": phone,
                "name": f"南昌市新建区{rng.choice(FIRM_WORDS)}{rng.choice(FIRM_KINDS)}有限公司",
                "id_type": "credit_code", "id_no": make_uscc("91", data.REGION_CODE, f"{rng.randrange(10 ** 8):08d}")}
    person: dict[str, Any] = {"real_name": True, "name": rng.choice(data.SURNAMES) + rng.choice(data.GIVEN_NAMES),
                              "phone": phone}
    if rng.random() < RESIDENT_ID_SHARE:
        person.update(id_type="resident_id", id_no=resident_id(rng))
    return person


def load_catalogue(session: Session) -> list[CatalogueItem]:
    """The demo district's service items in a fixed order (so a seed always means the same stream)."""
    slugs = {slug: name for slug, name, _, _ in data.DEPARTMENTS}
    demo = Department.name.in_(slugs.values())
    departments = {d.name: d for d in session.scalars(select(Department).where(demo))}
    items = {i.code: i for i in session.scalars(select(ServiceItem).join(Department).where(demo))}
    staff: dict[int, list[tuple[int, str]]] = {}
    for member in session.scalars(select(StaffMember).join(Department).where(demo).order_by(StaffMember.staff_no)):
        staff.setdefault(member.department_id, []).append((member.id, member.staff_no))
    catalogue = []
    for slug, entries in data.SERVICE_ITEMS.items():
        department = departments.get(slugs[slug])
        for number, (_, kind, _) in enumerate(entries, start=1):
            item = items.get(f"{department.credit_code}{kind.catalogue_code}{number:04d}") if department else None
            if item is None or not staff.get(item.department_id):
                raise SimulationError("the demo district is missing: run `hcp seed-demo` first")
            catalogue.append(CatalogueItem(item.code, item.id, item.department_id, item.kind, item.promised_days or 1,
                                           tuple(staff[item.department_id])))
    return catalogue


class Simulation:
    """Feeds a stream through ``intake.ingest``, the engine clock at each rating's receipt time (R7)."""

    def __init__(self, session: Session, stream: RatingStream, start: date, end: date) -> None:
        self.session, self.stream, self.start, self.end = session, stream, start, end
        self.keys = _sources(session)

    @classmethod
    def prepare(cls, session: Session, *, env: str, start: date, end: date, per_day: int, seed: int,
                bad_share: float = BAD_SHARE) -> Simulation:
        """Refuse production, a database without the demo district and years without calendar data."""
        refuse_production(env)
        catalogue = load_catalogue(session)
        sync_calendar(session)
        for year in range(start.year, end.year + 1):
            try:
                calendars.is_working_day(date(year, 1, 1))
            except calendars.CalendarYearMissing as missing:
                raise SimulationError(f"{missing}: load it with `hcp calendar load` first") from None
        return cls(session, RatingStream(catalogue, seed, per_day, bad_share=bad_share), start, end)

    def ratings(self) -> Iterator[SimRating]:
        return self.stream.ratings(self.start, self.end)

    def total(self) -> int:
        """How many ratings a run feeds (one pass of the generator, nothing stored)."""
        return sum(1 for _ in self.ratings())

    def run(self, progress: Callable[[int], None] | None = None, commit_every: int = COMMIT_EVERY) -> SimulationResult:
        result = SimulationResult()
        for done, rating in enumerate(self.ratings(), start=1):
            record = rating.record
            if record is not None and self.session.scalar(
                    select(ServiceRecord.id).where(ServiceRecord.record_no == record["record_no"])) is None:
                self.session.add(ServiceRecord(**record))  # as the 一窗式 platform delivers it
            with using_clock(ManualClock(rating.received_at)):
                outcome = ingest(self.session, self.keys[rating.channel], rating.payload, rating.received_at)
            if outcome.status == CREATED:
                result.stored += 1
                result.cases_opened += outcome.case_no is not None
            elif outcome.status == DUPLICATE:
                result.duplicates += 1
            else:
                result.invalid += outcome.status == INVALID
                result.conflicts += outcome.status != INVALID
                if len(result.problems) < 5:
                    result.problems.append(f"{rating.payload['id']}: {outcome.status} {outcome.errors}")
            if done % commit_every == 0:
                self.session.commit()
            if progress is not None:
                progress(1)
        self.session.commit()
        return result


def _sources(session: Session) -> dict[Channel, ApiKey]:
    """One API key per channel, ``sim-window-device`` and so on, created when missing."""
    names = {channel: source_name(channel) for channel in Channel}
    found = {k.name: k for k in session.scalars(select(ApiKey).where(ApiKey.name.in_(names.values())))}
    for channel, name in names.items():
        if name not in found:  # its token is not needed: the simulator calls intake directly
            found[name], _ = create_key(session, name, channel, "simulator", datetime.now(timezone.utc))
        elif not found[name].active:
            raise SimulationError(f"the API key {name} is revoked: the simulator does not use revoked sources")
    return {channel: found[name] for channel, name in names.items()}
