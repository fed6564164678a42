"""Check one rating as the intake API receives it (DESIGN.md §2 R1-R3, §7).

``parse_rating`` turns one JSON object into a frozen ``RatingInput`` or raises
``RatingInputError`` listing every problem, keyed by field (``evaluator.phone``,
``dimensions[1]``), with Chinese messages. It needs no Flask and no database: whether
the codes exist is checked by the caller. Messages never repeat the evaluator's
personal data (§7).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, TypeVar

from app.identifiers import InvalidCode, validate_uscc
from app.models.rating_types import Channel, Dimension, EvaluatorType, IdType, Level
from app.models.types import LabelledEnum

MAX_COMMENT = 1000
MAX_FUTURE = timedelta(minutes=5)
EARLIEST = datetime(2018, 1, 1, tzinfo=timezone(timedelta(hours=8)))

_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
_REGION = re.compile(r"\d{6}", re.ASCII)
_MOBILE = re.compile(r"(?:\+?86)?(1[3-9]\d{9})", re.ASCII)
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}", re.ASCII)
_RESIDENT_ID = re.compile(r"\d{17}[\dX]", re.ASCII)
_OTHER_ID = re.compile(r"[A-Z0-9]{5,30}", re.ASCII)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

_FIELDS = frozenset({
    "id", "service_record_no", "service_item_code", "department_code", "staff_no", "channel",
    "level", "dimensions", "comment", "evaluated_at", "follow_up", "region_code", "evaluator",
})
_EVALUATOR_FIELDS = frozenset({"real_name", "name", "phone", "id_type", "id_no", "person_type"})

REQUIRED = "必填"
NOT_STRING = "应为字符串"
NOT_BOOL = "应为true或false"

E = TypeVar("E", bound=LabelledEnum)


class RatingInputError(ValueError):
    """A rating that cannot be accepted; ``errors`` maps each field to a Chinese message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("评价数据无效：" + "；".join(f"{k}：{v}" for k, v in self.errors.items()))


@dataclass(frozen=True)
class EvaluatorInput:
    real_name: bool
    name: str | None
    phone: str | None  # digits only
    id_type: IdType | None
    id_no: str | None  # upper-cased
    person_type: EvaluatorType


@dataclass(frozen=True)
class RatingInput:
    external_id: str
    service_record_no: str
    service_item_code: str
    department_code: str | None
    staff_no: str | None
    channel: Channel
    level: Level
    dimensions: tuple[Dimension, ...]
    comment: str | None
    evaluated_at: datetime  # timezone-aware
    follow_up: bool
    region_code: str | None
    evaluator: EvaluatorInput | None

    @property
    def is_bad(self) -> bool:
        """差评 (R1): 不满意 or 非常不满意."""
        return self.level.is_bad


class _Fail(Exception):
    """One field's problem, collected by ``_Collector.check``."""


class _Collector:
    def __init__(self, data: dict[Any, Any], prefix: str = "") -> None:
        self.data, self.prefix = data, prefix
        self.errors: dict[str, str] = {}

    def check(self, key: str, parse: Callable[[Any], Any], *, required: bool = False, default: Any = None) -> Any:
        value = self.data.get(key)
        if value is None:
            if required:
                self.errors[self.prefix + key] = REQUIRED
            return default
        try:
            return parse(value)
        except _Fail as problem:
            self.errors[self.prefix + key] = str(problem)
            return default


def _text(value: Any, max_len: int, *, strip: bool = True, multiline: bool = False) -> str:
    if not isinstance(value, str):
        raise _Fail(NOT_STRING)
    text = value.strip() if strip else value
    if not text.strip():
        raise _Fail("不能为空")
    if len(text) > max_len:
        raise _Fail(f"最多{max_len}个字符")
    allowed = "\n\r\t" if multiline else ""
    if any(not ch.isprintable() and ch not in allowed for ch in text):
        raise _Fail("含有控制字符或不可打印字符")
    return text


def _code(value: Any) -> str:
    text = _text(value, 64)
    if not _CODE.fullmatch(text):
        raise _Fail("只能包含字母、数字、“-”和“_”，最多64位")
    return text


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Fail(NOT_BOOL)
    return value


def _enum(cls: type[E], what: str) -> Callable[[Any], E]:
    def parse(value: Any) -> E:
        if isinstance(value, str):
            for member in cls:
                if value.strip() in (member.value, member.label):
                    return member
        raise _Fail(f"未知的{what}，可选：" + "、".join(m.label for m in cls))
    return parse


def _level(value: Any) -> Level:
    if isinstance(value, (bool, float)):
        raise _Fail("满意度应为整数1-5（5 = 非常满意）或中文名称")
    if isinstance(value, int):
        if not 1 <= value <= 5:
            raise _Fail("满意度代码应为1-5（5 = 非常满意，1 = 非常不满意）")
        return Level.from_national_code(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            raise _Fail("满意度请用整数或中文名称，不要用数字字符串")
        for level in Level:
            if text == level.label:
                return level
    raise _Fail("满意度应为非常满意、满意、基本满意、不满意、非常不满意之一，或整数1-5")


def _uscc(value: Any, *, personal: bool = False) -> str:
    if not isinstance(value, str):
        raise _Fail(NOT_STRING)
    try:
        return validate_uscc(value)
    except InvalidCode as exc:
        # validate_uscc names the offending characters; an evaluator's number is not echoed.
        raise _Fail(str(exc).split("：")[0] if personal else str(exc)) from None


def _region(value: Any) -> str:
    if not isinstance(value, str) or not _REGION.fullmatch(value.strip()):
        raise _Fail("行政区划代码应为6位数字")
    return value.strip()


def _comment(value: Any) -> str | None:
    if isinstance(value, str) and not value.strip():
        return None
    return _text(value, MAX_COMMENT, multiline=True)


def _evaluated_at(now: datetime) -> Callable[[Any], datetime]:
    def parse(value: Any) -> datetime:
        if not isinstance(value, str):
            raise _Fail("评价时间应为ISO 8601格式的字符串")
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _Fail("评价时间格式不正确，应为ISO 8601（如2024-05-01T09:30:00+08:00）") from None
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise _Fail("评价时间缺少时区（如+08:00）")
        try:
            if moment > now + MAX_FUTURE:
                raise _Fail("评价时间晚于当前时间")
            if moment < EARLIEST:
                raise _Fail("评价时间早于2018年1月1日")
        except OverflowError:
            raise _Fail("评价时间超出范围") from None
        return moment
    return parse


def _dimensions(value: Any, errors: dict[str, str]) -> tuple[Dimension, ...]:
    if not isinstance(value, list):
        raise _Fail("评价维度应为列表")
    if len(value) > len(Dimension):
        raise _Fail(f"评价维度最多{len(Dimension)}个")
    parse, seen = _enum(Dimension, "评价维度"), []
    for index, item in enumerate(value):
        try:
            dimension = parse(item)
        except _Fail as problem:
            errors[f"dimensions[{index}]"] = str(problem)
            continue
        if dimension in seen:
            errors[f"dimensions[{index}]"] = "评价维度重复"
        else:
            seen.append(dimension)
    return tuple(seen)


def _phone(value: Any) -> str:
    """Digits of a mainland mobile (+86 dropped) or landline number."""
    if isinstance(value, str):
        compact = "".join(value.split())
        mobile = _MOBILE.fullmatch(compact.replace("-", ""))
        if mobile:
            return mobile.group(1)
        if _LANDLINE.fullmatch(compact):
            return compact.replace("-", "")
    raise _Fail("手机号码格式不正确")


def resident_id_problem(id_no: str, today: date) -> str | None:
    """What is wrong with an 18-character 居民身份证 number (GB 11643), or None."""
    if len(id_no) != 18:
        return "居民身份证号码应为18位"
    if not _RESIDENT_ID.fullmatch(id_no):
        return "居民身份证号码格式不正确"
    try:
        birth = date(int(id_no[6:10]), int(id_no[10:12]), int(id_no[12:14]))
    except ValueError:
        birth = None
    if birth is None or not date(1900, 1, 1) <= birth <= today:
        return "居民身份证号码出生日期无效"
    total = sum(int(ch) * w for ch, w in zip(id_no[:17], _ID_WEIGHTS))
    if _ID_CHECK[total % 11] != id_no[17]:
        return "居民身份证号码校验位错误"
    return None


def _id_no(id_type: IdType, today: date) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if not isinstance(value, str):
            raise _Fail(NOT_STRING)
        id_no = "".join(value.split()).upper()
        if id_type is IdType.CREDIT_CODE:
            return _uscc(id_no, personal=True)
        if id_type is IdType.RESIDENT_ID:
            problem = resident_id_problem(id_no, today)
            if problem:
                raise _Fail(problem)
        elif not _OTHER_ID.fullmatch(id_no):
            raise _Fail("证件号码应为5-30位字母或数字")
        return id_no
    return parse


def _evaluator(raw: Any, errors: dict[str, str], today: date) -> EvaluatorInput | None:
    if not isinstance(raw, dict):
        errors["evaluator"] = "评价人应为JSON对象"
        return None
    c = _Collector(raw, "evaluator.")
    for key in raw:
        if key not in _EVALUATOR_FIELDS:
            c.errors[f"evaluator.{key}"] = "不支持的字段"
    real_name = c.check("real_name", _bool, default=False)
    name = c.check("name", lambda v: _text(v, 50))
    phone = c.check("phone", _phone)
    id_type = c.check("id_type", _enum(IdType, "证件类型"))
    person_type = c.check("person_type", _enum(EvaluatorType, "评价人类型"),
                          default=EvaluatorType.PERSON)
    id_no = None
    has_id_no, has_id_type = raw.get("id_no") is not None, raw.get("id_type") is not None
    if has_id_no and not has_id_type:
        c.errors["evaluator.id_type"] = "填写证件号码时须注明证件类型"
    elif has_id_type and not has_id_no:
        c.errors["evaluator.id_no"] = "注明证件类型时须填写证件号码"
    elif id_type is not None:
        id_no = c.check("id_no", _id_no(id_type, today))
    if real_name is True:  # R8: a real-name rating must be reachable for the return visit
        if raw.get("name") is None:
            c.errors["evaluator.name"] = "实名评价须填写评价人姓名"
        if raw.get("phone") is None and not has_id_no:
            c.errors["evaluator.phone"] = "实名评价须填写手机号码或证件号码"
    errors.update(c.errors)
    return EvaluatorInput(real_name=real_name, name=name, phone=phone, id_type=id_type,
                          id_no=id_no, person_type=person_type)


def parse_rating(raw: Any, *, now: datetime) -> RatingInput:
    """Check one rating object from the intake API; raise ``RatingInputError`` with all problems."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if not isinstance(raw, dict):
        raise RatingInputError({"_": "每条评价必须是JSON对象"})
    c = _Collector(raw)
    for key in raw:
        if key not in _FIELDS:
            c.errors[str(key)] = "不支持的字段"
    external_id = c.check("id", lambda v: _text(v, 128, strip=False), required=True)
    record_no = c.check("service_record_no", _code, required=True)
    item_code = c.check("service_item_code", _code, required=True)
    department_code = c.check("department_code", _uscc)
    staff_no = c.check("staff_no", lambda v: _text(v, 32))
    channel = c.check("channel", _enum(Channel, "评价渠道"), required=True)
    level = c.check("level", _level, required=True)
    dimensions = c.check("dimensions", lambda v: _dimensions(v, c.errors), default=())
    comment = c.check("comment", _comment)
    evaluated_at = c.check("evaluated_at", _evaluated_at(now), required=True)
    follow_up = c.check("follow_up", _bool, default=False)
    region_code = c.check("region_code", _region)
    evaluator = None
    if raw.get("evaluator") is not None:
        evaluator = _evaluator(raw["evaluator"], c.errors, now.date())
    dimension_problem = any(k == "dimensions" or k.startswith("dimensions[") for k in c.errors)
    if (isinstance(level, Level) and level.is_bad and not dimensions and comment is None
            and not dimension_problem and "comment" not in c.errors):
        c.errors["dimensions"] = "差评须至少选择一个评价维度或填写文字评价"
    if c.errors:
        raise RatingInputError(c.errors)
    return RatingInput(
        external_id=external_id, service_record_no=record_no, service_item_code=item_code,
        department_code=department_code, staff_no=staff_no, channel=channel, level=level,
        dimensions=dimensions, comment=comment, evaluated_at=evaluated_at, follow_up=follow_up,
        region_code=region_code, evaluator=evaluator)

