"""Checking one rating from the intake API (DESIGN.md §2 R1-R3, R8, §7). No Flask, no database."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.identifiers import InvalidCode, make_uscc, validate_uscc
from app.models.rating_types import Channel, Dimension, EvaluatorType, IdType, Level
from app.services.rating_input import (EvaluatorInput, RatingInput, RatingInputError, parse_rating,
                                       resident_id_problem)

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=SHANGHAI)
DEPT_CODE = make_uscc("11", "360100", "01234567")
PHONE_MESSAGE = "手机号码格式不正确"
BAD_RATING_MESSAGE = "差评须至少选择一个评价维度或填写文字评价"


def id_with_check(first17: str) -> str:
    """A 居民身份证 number with its GB 11643 check character, computed independently of the module."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]  # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
    remainder = sum(int(d) * w for d, w in zip(first17, weights)) % 11
    return first17 + "10X98765432"[remainder]


def valid(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "dev-42/000001",
        "service_record_no": "BJ-2024_0001",
        "service_item_code": "11360100MB1234567X4000117001",
        "channel": "window_device",
        "level": "满意",
        "evaluated_at": "2024-06-01T09:30:00+08:00",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not ...}


def errors_of(raw: Any) -> dict[str, str]:
    with pytest.raises(RatingInputError) as caught:
        parse_rating(raw, now=NOW)
    return caught.value.errors


def evaluator_errors(evaluator: Any) -> dict[str, str]:
    return errors_of(valid(evaluator=evaluator))


# --- the happy paths ---------------------------------------------------------------------------

def test_minimal_rating_gets_defaults() -> None:
    rating = parse_rating(valid(), now=NOW)
    assert rating == RatingInput(
        external_id="dev-42/000001", service_record_no="BJ-2024_0001",
        service_item_code="11360100MB1234567X4000117001", department_code=None, staff_no=None,
        channel=Channel.WINDOW_DEVICE, level=Level.SATISFIED, dimensions=(), comment=None,
        evaluated_at=datetime(2024, 6, 1, 9, 30, tzinfo=SHANGHAI), follow_up=False,
        region_code=None, evaluator=None)
    assert rating.evaluated_at.utcoffset() == timedelta(hours=8)
    assert not rating.is_bad


def test_full_rating_is_typed_and_normalised() -> None:
    rating = parse_rating(valid(
        department_code=DEPT_CODE.lower(), staff_no=" S-007 ", channel="移动端（赣服通）",
        level=1, dimensions=["办事流程", "efficiency"], comment="  材料要求反复变化\n请改进 ",
        follow_up=True, region_code="360100",
        evaluator={"real_name": True, "name": " 张三 ", "phone": "138-0013 8000",
                   "id_type": "居民身份证", "id_no": "11010519491231002x", "person_type": "个人"},
    ), now=NOW)
    assert rating.department_code == DEPT_CODE
    assert rating.staff_no == "S-007"
    assert rating.channel is Channel.MOBILE_APP
    assert rating.level is Level.VERY_DISSATISFIED and rating.is_bad
    assert rating.dimensions == (Dimension.PROCESS, Dimension.EFFICIENCY)
    assert rating.comment == "材料要求反复变化\n请改进"
    assert rating.follow_up is True and rating.region_code == "360100"
    assert rating.evaluator == EvaluatorInput(
        real_name=True, name="张三", phone="13800138000", id_type=IdType.RESIDENT_ID,
        id_no="11010519491231002X", person_type=EvaluatorType.PERSON)


def test_results_are_frozen() -> None:
    rating = parse_rating(valid(evaluator={"name": "李四"}), now=NOW)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rating.level = Level.SATISFIED  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        rating.evaluator.name = "王五"  # type: ignore[misc, union-attr]


def test_null_optional_fields_count_as_absent() -> None:
    rating = parse_rating(valid(department_code=None, staff_no=None, dimensions=None, comment=None,
                                follow_up=None, region_code=None, evaluator=None), now=NOW)
    assert (rating.dimensions, rating.follow_up, rating.evaluator) == ((), False, None)


# --- R1: levels, both directions of the national mapping ---------------------------------------

@pytest.mark.parametrize(("code", "level"), [
    (5, Level.VERY_SATISFIED), (4, Level.SATISFIED), (3, Level.BASICALLY_SATISFIED),
    (2, Level.DISSATISFIED), (1, Level.VERY_DISSATISFIED),
])
def test_national_integer_codes_map_to_levels(code: int, level: Level) -> None:
    rating = parse_rating(valid(level=code, comment="说明"), now=NOW)
    assert rating.level is level
    assert rating.level.national_code == code
    assert rating.level.gbt39046_code == 6 - code  # GB/T 39046 runs the other way


@pytest.mark.parametrize("level", list(Level))
def test_chinese_names_map_to_levels(level: Level) -> None:
    assert parse_rating(valid(level=level.label, comment="说明"), now=NOW).level is level


def test_level_names_round_trip_through_the_national_code() -> None:
    for level in Level:
        via_code = parse_rating(valid(level=level.national_code, comment="x"), now=NOW).level
        via_name = parse_rating(valid(level=level.label, comment="x"), now=NOW).level
        assert via_code is via_name is level


@pytest.mark.parametrize(("value", "message"), [
    (True, "满意度应为整数1-5（5 = 非常满意）或中文名称"),
    (False, "满意度应为整数1-5（5 = 非常满意）或中文名称"),
    (5.0, "满意度应为整数1-5（5 = 非常满意）或中文名称"),
    (0, "满意度代码应为1-5（5 = 非常满意，1 = 非常不满意）"),
    (6, "满意度代码应为1-5（5 = 非常满意，1 = 非常不满意）"),
    (-1, "满意度代码应为1-5（5 = 非常满意，1 = 非常不满意）"),
    ("5", "满意度请用整数或中文名称，不要用数字字符串"),
    (" 1 ", "满意度请用整数或中文名称，不要用数字字符串"),
    ("very_satisfied", "满意度应为非常满意、满意、基本满意、不满意、非常不满意之一，或整数1-5"),
    ("好评", "满意度应为非常满意、满意、基本满意、不满意、非常不满意之一，或整数1-5"),
    ([5], "满意度应为非常满意、满意、基本满意、不满意、非常不满意之一，或整数1-5"),
])
def test_bad_levels_are_refused(value: Any, message: str) -> None:
    assert errors_of(valid(level=value)) == {"level": message}


# --- R3: channels -------------------------------------------------------------------------------

@pytest.mark.parametrize("channel", list(Channel))
def test_channels_by_value_and_by_label(channel: Channel) -> None:
    assert parse_rating(valid(channel=channel.value), now=NOW).channel is channel
    assert parse_rating(valid(channel=channel.label), now=NOW).channel is channel


@pytest.mark.parametrize("value", ["wechat", "WINDOW_DEVICE", 1, ["qr_code"]])
def test_unknown_channels_are_refused(value: Any) -> None:
    assert errors_of(valid(channel=value)) == {
        "channel": "未知的评价渠道，可选：" + "、".join(c.label for c in Channel)}


# --- R2: dimensions and comments; the bad-rating rule (§7) --------------------------------------

@pytest.mark.parametrize("dimension", list(Dimension))
def test_dimensions_by_label_and_by_value(dimension: Dimension) -> None:
    rating = parse_rating(valid(dimensions=[dimension.label]), now=NOW)
    assert rating.dimensions == (dimension,)
    assert parse_rating(valid(dimensions=[dimension.value]), now=NOW).dimensions == (dimension,)


def test_all_nine_dimensions_are_allowed_in_order() -> None:
    labels = [d.label for d in reversed(Dimension)]
    assert parse_rating(valid(dimensions=labels), now=NOW).dimensions == tuple(reversed(Dimension))


unknown_dimension = "未知的评价维度，可选：" + "、".join(d.label for d in Dimension)


@pytest.mark.parametrize(("value", "errors"), [
    ("办事流程", {"dimensions": "评价维度应为列表"}),
    ({"办事流程": 1}, {"dimensions": "评价维度应为列表"}),
    (["办事流程", "process"], {"dimensions[1]": "评价维度重复"}),
    (["服务效率", "态度", "办事材料", 3], {"dimensions[1]": unknown_dimension,
                                          "dimensions[3]": unknown_dimension}),
    ([d.label for d in Dimension] + ["办事流程"], {"dimensions": "评价维度最多9个"}),
])
def test_bad_dimensions_are_refused(value: Any, errors: dict[str, str]) -> None:
    assert errors_of(valid(dimensions=value)) == errors


@pytest.mark.parametrize("level", [Level.DISSATISFIED.label, Level.VERY_DISSATISFIED.label, 2, 1])
@pytest.mark.parametrize("comment", [..., "", "   \n "])
def test_bad_rating_needs_a_dimension_or_a_comment(level: Any, comment: Any) -> None:
    assert errors_of(valid(level=level, comment=comment)) == {"dimensions": BAD_RATING_MESSAGE}


@pytest.mark.parametrize("extra", [{"comment": "等了两个小时"}, {"dimensions": ["服务效率"]}])
def test_bad_rating_with_a_dimension_or_a_comment_is_accepted(extra: dict[str, Any]) -> None:
    assert parse_rating(valid(level="非常不满意", **extra), now=NOW).is_bad


@pytest.mark.parametrize("level", ["非常满意", "满意", "基本满意", 5, 4, 3])
def test_good_ratings_need_neither(level: Any) -> None:
    assert not parse_rating(valid(level=level), now=NOW).is_bad


def test_bad_rating_rule_is_not_piled_on_a_broken_dimension_list() -> None:
    assert errors_of(valid(level="不满意", dimensions=["态度"])) == {"dimensions[0]": unknown_dimension}


@pytest.mark.parametrize(("value", "expected"), [
    ("  很好 ", "很好"), ("", None), ("  ", None), ("第一行\r\n\t第二行", "第一行\r\n\t第二行"),
    ("字" * 1000, "字" * 1000), (" " + "字" * 1000 + " ", "字" * 1000),
])
def test_comments_are_stripped(value: str, expected: str | None) -> None:
    assert parse_rating(valid(comment=value), now=NOW).comment == expected


@pytest.mark.parametrize(("value", "message"), [
    ("字" * 1001, "最多1000个字符"), (42, "应为字符串"), (["好"], "应为字符串"),
    ("好\x00", "含有控制字符或不可打印字符"),
])
def test_bad_comments_are_refused(value: Any, message: str) -> None:
    assert errors_of(valid(comment=value)) == {"comment": message}


# --- identifiers and codes ----------------------------------------------------------------------

@pytest.mark.parametrize("field", ["id", "service_record_no", "service_item_code", "channel",
                                   "level", "evaluated_at"])
def test_required_fields(field: str) -> None:
    assert errors_of(valid(**{field: ...})) == {field: "必填"}
    assert errors_of(valid(**{field: None})) == {field: "必填"}


@pytest.mark.parametrize(("value", "message"), [
    ("", "不能为空"), ("   ", "不能为空"), ("x" * 129, "最多128个字符"), (42, "应为字符串"),
    ("abc\n", "含有控制字符或不可打印字符"), ("a\x7fb", "含有控制字符或不可打印字符"),
])
def test_bad_external_ids(value: Any, message: str) -> None:
    assert errors_of(valid(id=value)) == {"id": message}


@pytest.mark.parametrize("value", ["x" * 128, "窗口3号-2024/06/01 #17", "a"])
def test_external_id_is_kept_verbatim(value: str) -> None:
    assert parse_rating(valid(id=value), now=NOW).external_id == value


@pytest.mark.parametrize("field", ["service_record_no", "service_item_code"])
@pytest.mark.parametrize(("value", "message"), [
    ("BJ 0001", "只能包含字母、数字、“-”和“_”，最多64位"),
    ("办件0001", "只能包含字母、数字、“-”和“_”，最多64位"),
    ("A/1", "只能包含字母、数字、“-”和“_”，最多64位"),
    ("１２３", "只能包含字母、数字、“-”和“_”，最多64位"),  # full-width digits
    ("A" * 65, "最多64个字符"), ("", "不能为空"), (123, "应为字符串"),
])
def test_bad_record_and_item_codes(field: str, value: Any, message: str) -> None:
    assert errors_of(valid(**{field: value})) == {field: message}


@pytest.mark.parametrize("field", ["service_record_no", "service_item_code"])
def test_codes_of_64_characters_are_accepted(field: str) -> None:
    assert getattr(parse_rating(valid(**{field: "a-_9" * 16}), now=NOW), field) == "a-_9" * 16


def uscc_message(code: str) -> str:
    with pytest.raises(InvalidCode) as caught:
        validate_uscc(code)
    return str(caught.value)


@pytest.mark.parametrize("code", [DEPT_CODE[:-1], DEPT_CODE[:-1] + ("0" if DEPT_CODE[-1] != "0" else "1"),
                                  DEPT_CODE[:4] + "O" + DEPT_CODE[5:], "9135A100M000100Y43"])
def test_bad_department_codes_use_the_uscc_messages(code: str) -> None:
    assert errors_of(valid(department_code=code)) == {"department_code": uscc_message(code)}


def test_department_code_must_be_a_string() -> None:
    assert errors_of(valid(department_code=913501)) == {"department_code": "应为字符串"}


@pytest.mark.parametrize(("value", "message"), [("S" * 33, "最多32个字符"), ("", "不能为空"), (7, "应为字符串")])
def test_bad_staff_numbers(value: Any, message: str) -> None:
    assert errors_of(valid(staff_no=value)) == {"staff_no": message}


@pytest.mark.parametrize("value", ["36010", "3601000", "36010a", 360100, "３６０１００"])
def test_bad_region_codes(value: Any) -> None:
    assert errors_of(valid(region_code=value)) == {"region_code": "行政区划代码应为6位数字"}


@pytest.mark.parametrize("value", ["true", 1, 0, "是"])
def test_follow_up_must_be_a_boolean(value: Any) -> None:
    assert errors_of(valid(follow_up=value)) == {"follow_up": "应为true或false"}


# --- evaluated_at -------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("2024-06-01T01:30:00Z", datetime(2024, 6, 1, 9, 30, tzinfo=SHANGHAI)),
    ("2024-06-01T12:04:59+08:00", NOW + timedelta(minutes=4, seconds=59)),
    ("2024-06-01T12:05:00+08:00", NOW + timedelta(minutes=5)),
    ("2018-01-01T00:00:00+08:00", datetime(2018, 1, 1, tzinfo=SHANGHAI)),
    ("2017-12-31T16:00:00+00:00", datetime(2018, 1, 1, tzinfo=SHANGHAI)),  # the same instant
    ("2024-05-31 20:00:00.123+00:00", datetime(2024, 6, 1, 4, 0, 0, 123000, tzinfo=SHANGHAI)),
])
def test_good_evaluation_times(value: str, expected: datetime) -> None:
    moment = parse_rating(valid(evaluated_at=value), now=NOW).evaluated_at
    assert moment == expected and moment.utcoffset() is not None


@pytest.mark.parametrize(("value", "message"), [
    ("2024-06-01T09:30:00", "评价时间缺少时区（如+08:00）"),
    ("2024-06-01", "评价时间缺少时区（如+08:00）"),
    ("2024-06-01T12:05:01+08:00", "评价时间晚于当前时间"),
    ("2024-06-01T04:06:00Z", "评价时间晚于当前时间"),
    ("2017-12-31T23:59:59+08:00", "评价时间早于2018年1月1日"),
    ("2017-12-31T15:59:59+00:00", "评价时间早于2018年1月1日"),
    ("yesterday", "评价时间格式不正确，应为ISO 8601（如2024-05-01T09:30:00+08:00）"),
    ("2024-02-30T10:00:00+08:00", "评价时间格式不正确，应为ISO 8601（如2024-05-01T09:30:00+08:00）"),
    (1717205400, "评价时间应为ISO 8601格式的字符串"),
])
def test_bad_evaluation_times(value: Any, message: str) -> None:
    assert errors_of(valid(evaluated_at=value)) == {"evaluated_at": message}


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_rating(valid(), now=datetime(2024, 6, 1))


# --- shape --------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [[], "评价", None, 5, [valid()]])
def test_top_level_must_be_an_object(raw: Any) -> None:
    assert errors_of(raw) == {"_": "每条评价必须是JSON对象"}


def test_unknown_keys_are_refused() -> None:
    assert errors_of(valid(score=5, Level="满意")) == {"score": "不支持的字段", "Level": "不支持的字段"}


def test_all_problems_are_reported_at_once() -> None:
    errors = errors_of({
        "id": "", "service_record_no": "办件", "channel": "fax", "level": "5",
        "dimensions": ["办事流程", "办事流程"], "evaluated_at": "2024-06-01T09:30:00",
        "region_code": "1", "follow_up": "no", "extra": 1,
        "evaluator": {"real_name": True, "phone": "12345", "age": 30},
    })
    assert errors == {
        "extra": "不支持的字段",
        "id": "不能为空",
        "service_record_no": "只能包含字母、数字、“-”和“_”，最多64位",
        "service_item_code": "必填",
        "channel": "未知的评价渠道，可选：" + "、".join(c.label for c in Channel),
        "level": "满意度请用整数或中文名称，不要用数字字符串",
        "dimensions[1]": "评价维度重复",
        "evaluated_at": "评价时间缺少时区（如+08:00）",
        "follow_up": "应为true或false",
        "region_code": "行政区划代码应为6位数字",
        "evaluator.age": "不支持的字段",
        "evaluator.phone": PHONE_MESSAGE,
        "evaluator.name": "实名评价须填写评价人姓名",
    }


def test_error_text_lists_the_fields() -> None:
    with pytest.raises(RatingInputError) as caught:
        parse_rating(valid(level=9, channel=None), now=NOW)
    assert "level" in str(caught.value) and "channel：必填" in str(caught.value)
    assert isinstance(caught.value, ValueError)


# --- evaluator ----------------------------------------------------------------------------------

def test_empty_evaluator_is_an_anonymous_person() -> None:
    evaluator = parse_rating(valid(evaluator={}), now=NOW).evaluator
    assert evaluator == EvaluatorInput(False, None, None, None, None, EvaluatorType.PERSON)


@pytest.mark.parametrize(("value", "person_type"), [
    ("个人", EvaluatorType.PERSON), ("法人", EvaluatorType.LEGAL_ENTITY),
    ("person", EvaluatorType.PERSON), ("legal_entity", EvaluatorType.LEGAL_ENTITY),
])
def test_person_types(value: str, person_type: EvaluatorType) -> None:
    evaluator = parse_rating(valid(evaluator={"person_type": value}), now=NOW).evaluator
    assert evaluator is not None and evaluator.person_type is person_type


@pytest.mark.parametrize(("evaluator", "errors"), [
    ("张三", {"evaluator": "评价人应为JSON对象"}),
    ([{"name": "张三"}], {"evaluator": "评价人应为JSON对象"}),
    ({"mobile": "13800138000"}, {"evaluator.mobile": "不支持的字段"}),
    ({"person_type": "企业"}, {"evaluator.person_type": "未知的评价人类型，可选：个人、法人"}),
    ({"real_name": "yes"}, {"evaluator.real_name": "应为true或false"}),
    ({"real_name": 1}, {"evaluator.real_name": "应为true或false"}),
    ({"name": "张" * 51}, {"evaluator.name": "最多50个字符"}),
    ({"name": " "}, {"evaluator.name": "不能为空"}),
    ({"name": 3}, {"evaluator.name": "应为字符串"}),
    ({"id_no": "11010519491231002X"}, {"evaluator.id_type": "填写证件号码时须注明证件类型"}),
    ({"id_type": "居民身份证"}, {"evaluator.id_no": "注明证件类型时须填写证件号码"}),
    ({"id_type": "驾驶证", "id_no": "11010519491231002X"},
     {"evaluator.id_type": "未知的证件类型，可选：" + "、".join(t.label for t in IdType)}),
])
def test_bad_evaluators(evaluator: Any, errors: dict[str, str]) -> None:
    assert evaluator_errors(evaluator) == errors


# R8: a real-name rating must be reachable for the return visit.
@pytest.mark.parametrize(("evaluator", "errors"), [
    ({"real_name": True}, {"evaluator.name": "实名评价须填写评价人姓名",
                           "evaluator.phone": "实名评价须填写手机号码或证件号码"}),
    ({"real_name": True, "phone": "13800138000"}, {"evaluator.name": "实名评价须填写评价人姓名"}),
    ({"real_name": True, "name": "张三"}, {"evaluator.phone": "实名评价须填写手机号码或证件号码"}),
    ({"real_name": True, "name": "张三", "phone": "110"}, {"evaluator.phone": PHONE_MESSAGE}),
])
def test_real_name_needs_name_and_a_way_to_reach(evaluator: dict[str, Any], errors: dict[str, str]) -> None:
    assert evaluator_errors(evaluator) == errors


@pytest.mark.parametrize("evaluator", [
    {"real_name": True, "name": "张三", "phone": "13800138000"},
    {"real_name": True, "name": "张三", "id_type": "resident_id", "id_no": "11010519491231002X"},
    {"real_name": False, "name": "张三"},
])
def test_reachable_real_name_evaluators_are_accepted(evaluator: dict[str, Any]) -> None:
    assert parse_rating(valid(evaluator=evaluator), now=NOW).evaluator is not None


@pytest.mark.parametrize(("phone", "digits"), [
    ("13800138000", "13800138000"), ("138 0013 8000", "13800138000"), ("138-0013-8000", "13800138000"),
    ("+86 138 0013 8000", "13800138000"), ("19912345678", "19912345678"),
    ("0791-86123456", "079186123456"), ("010-1234567", "0101234567"), ("02112345678", "02112345678"),
    ("0791 8612 3456", "079186123456"),
])
def test_phones_are_normalised(phone: str, digits: str) -> None:
    evaluator = parse_rating(valid(evaluator={"phone": phone}), now=NOW).evaluator
    assert evaluator is not None and evaluator.phone == digits


@pytest.mark.parametrize("phone", [
    "12800138000", "1380013800", "138001380000", "23800138000", "110", "abc", "",
    "0791-861234", "0791--86123456", "07912-86123456", "1３800138000", 13800138000,
])
def test_bad_phones(phone: Any) -> None:
    assert evaluator_errors({"phone": phone}) == {"evaluator.phone": PHONE_MESSAGE}


# --- ID numbers ---------------------------------------------------------------------------------

def test_own_check_digit_helper_matches_the_well_known_sample() -> None:
    assert id_with_check("11010519491231002") == "11010519491231002X"


@pytest.mark.parametrize("id_no", [
    "11010519491231002X", "11010519491231002x", id_with_check("36010219800229123"),
    id_with_check("44030620240601001"), id_with_check("36010219000101000"),
])
def test_valid_resident_ids(id_no: str) -> None:
    evaluator = parse_rating(valid(evaluator={"id_type": "居民身份证", "id_no": id_no}), now=NOW).evaluator
    assert evaluator is not None
    assert evaluator.id_type is IdType.RESIDENT_ID and evaluator.id_no == id_no.upper()


def wrong_check(id_no: str) -> str:
    return id_no[:17] + ("1" if id_no[17] != "1" else "2")


@pytest.mark.parametrize(("id_no", "message"), [
    ("110105194912310021", "居民身份证号码校验位错误"),
    (wrong_check(id_with_check("36010219800229123")), "居民身份证号码校验位错误"),
    (id_with_check("36010219810229123"), "居民身份证号码出生日期无效"),  # 1981 is no leap year
    (id_with_check("36010219801301123"), "居民身份证号码出生日期无效"),
    (id_with_check("36010218991231123"), "居民身份证号码出生日期无效"),
    (id_with_check("36010220240602123"), "居民身份证号码出生日期无效"),  # after NOW
    ("11010519491231002", "居民身份证号码应为18位"),
    ("110105491231002", "居民身份证号码应为18位"),  # the old 15-digit numbers are not accepted
    ("1101051949123100XX", "居民身份证号码格式不正确"),
    ("11010519491231002Y", "居民身份证号码格式不正确"),
    (11010519491231002, "应为字符串"),
])
def test_bad_resident_ids(id_no: Any, message: str) -> None:
    assert evaluator_errors({"id_type": "resident_id", "id_no": id_no}) == {"evaluator.id_no": message}


def test_resident_id_problem_is_usable_on_its_own() -> None:
    assert resident_id_problem("11010519491231002X", date(2024, 1, 1)) is None
    assert resident_id_problem("11010519491231002X", date(1949, 12, 30)) == "居民身份证号码出生日期无效"


def test_credit_code_as_evaluator_id() -> None:
    code = make_uscc("91", "360100", "MA35ABCD")
    evaluator = parse_rating(valid(evaluator={"person_type": "法人", "id_type": "统一社会信用代码",
                                              "id_no": code.lower()}), now=NOW).evaluator
    assert evaluator is not None and evaluator.id_no == code and evaluator.id_type is IdType.CREDIT_CODE


@pytest.mark.parametrize(("id_no", "message"), [
    ("91350100M000100Y44", "统一社会信用代码校验位错误"),
    ("91350100M0001O0Y43", "统一社会信用代码含有非法字符"),  # the character is not echoed
    ("91350100M000100Y4", "统一社会信用代码应为18位，实际为17位"),
])
def test_bad_credit_code_as_evaluator_id(id_no: str, message: str) -> None:
    assert evaluator_errors({"id_type": "credit_code", "id_no": id_no}) == {"evaluator.id_no": message}


@pytest.mark.parametrize("id_type", [t for t in IdType if t not in (IdType.RESIDENT_ID, IdType.CREDIT_CODE)])
def test_other_id_types(id_type: IdType) -> None:
    evaluator = parse_rating(valid(evaluator={"id_type": id_type.label, "id_no": "e1234 5678"}), now=NOW).evaluator
    assert evaluator is not None and evaluator.id_type is id_type and evaluator.id_no == "E12345678"
    for bad in ("E123", "E" * 31, "E1234-5678", "护照E12345"):
        assert evaluator_errors({"id_type": id_type.value, "id_no": bad}) == {
            "evaluator.id_no": "证件号码应为5-30位字母或数字"}


# --- personal data never appears in messages (§7) -----------------------------------------------

def all_text(error: RatingInputError) -> str:
    return " ".join(error.errors.values()) + " " + str(error)


phones = st.one_of(
    st.from_regex(r"\A[0-9 +\-]{5,16}\Z"),
    st.from_regex(r"\A1[0-9]{10}\Z"),
    st.from_regex(r"\A0[0-9]{2,3}-?[0-9]{5,9}\Z"),
    st.text(min_size=5, max_size=20),
)
id_numbers = st.one_of(
    st.from_regex(r"\A[0-9]{17}[0-9Xx]\Z"),
    st.from_regex(r"\A[0-9A-Za-z]{5,40}\Z"),
    st.text(min_size=5, max_size=40),
)


@settings(max_examples=300, deadline=None)
@given(phone=phones, id_no=id_numbers, id_type=st.sampled_from([t.value for t in IdType]),
       name_given=st.booleans(), level=st.sampled_from([1, 5]))
def test_personal_data_never_appears_in_errors(phone: str, id_no: str, id_type: str,
                                               name_given: bool, level: int) -> None:
    evaluator = {"real_name": True, "phone": phone, "id_type": id_type, "id_no": id_no}
    if name_given:
        evaluator["name"] = "张三"
    try:
        parse_rating(valid(level=level, evaluator=evaluator), now=NOW)
    except RatingInputError as error:
        text = all_text(error)
        # Values of a few characters can occur in any message ("0" in "5-30位"); what must
        # never be echoed is a value long enough to identify someone.
        for value in (phone, phone.strip(), id_no, id_no.strip().upper()):
            if len(value.strip()) >= 6:
                assert value not in text


@settings(max_examples=200, deadline=None)
@given(phone=st.from_regex(r"\A1[3-9][0-9]{9}\Z"))
def test_valid_phone_is_not_echoed_when_the_rating_fails(phone: str) -> None:
    with pytest.raises(RatingInputError) as caught:
        parse_rating(valid(level=1, evaluator={"real_name": True, "phone": phone}), now=NOW)
    assert caught.value.errors == {"evaluator.name": "实名评价须填写评价人姓名",
                                   "dimensions": BAD_RATING_MESSAGE}
    assert phone not in all_text(caught.value)


# --- robustness: nothing but RatingInputError ---------------------------------------------------

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                         st.text(max_size=30))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=5)), max_leaves=20)
field_names = ["id", "service_record_no", "service_item_code", "department_code", "staff_no",
               "channel", "level", "dimensions", "comment", "evaluated_at", "follow_up",
               "region_code", "evaluator"]
evaluator_names = ["real_name", "name", "phone", "id_type", "id_no", "person_type"]
plausible = st.one_of(
    json_values,
    st.sampled_from([*(m.label for m in Level), *(m.value for m in Channel), *(m.label for m in Dimension),
                     *(m.value for m in IdType), "个人", "2024-06-01T09:30:00+08:00"]),
    st.integers(-10, 10),
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())).map(lambda d: d.isoformat()),
    st.lists(st.sampled_from([*(m.label for m in Dimension), "x", 1]), max_size=12),
)
evaluators = st.dictionaries(st.one_of(st.sampled_from(evaluator_names), st.text(max_size=5)),
                             plausible, max_size=7)
ratings = st.dictionaries(
    st.one_of(st.sampled_from(field_names), st.text(max_size=8)),
    st.one_of(plausible, evaluators), max_size=14)


@settings(max_examples=500, deadline=None)
@given(raw=st.one_of(ratings, json_values))
def test_arbitrary_json_raises_only_rating_input_error(raw: Any) -> None:
    try:
        result = parse_rating(raw, now=NOW)
    except RatingInputError as error:
        assert error.errors and all(isinstance(k, str) and isinstance(v, str) and v
                                    for k, v in error.errors.items())
    else:
        assert isinstance(result, RatingInput)


@settings(max_examples=300, deadline=None)
@given(overrides=st.dictionaries(st.sampled_from(field_names), st.one_of(plausible, evaluators), max_size=4))
def test_valid_rating_with_random_overrides_raises_only_rating_input_error(overrides: dict[str, Any]) -> None:
    try:
        result = parse_rating({**valid(comment="说明"), **overrides}, now=NOW)
    except RatingInputError as error:
        assert set(error.errors) - {"_"}
    else:
        assert result.evaluated_at.utcoffset() is not None
