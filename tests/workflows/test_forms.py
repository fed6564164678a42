"""Form definitions: the shipped forms, every definition rule with its exact message, and
the validation of submissions (no Flask)."""

from __future__ import annotations

import copy
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflows.form_values import UNKNOWN_KEY, validate_submission
from workflows.forms import (
    SHIPPED_FORMS_DIRECTORY,
    Condition,
    FormDefinition,
    FormDefinitionError,
    load_form,
    load_forms,
    parse_form,
)

SHIPPED: dict[str, list[str]] = {
    "on_spot_record": ["solved_on_spot", "on_spot_measures"],
    "contact_record": ["contacted", "contact_method", "contacted_at", "citizen_request",
                       "problem_exists", "explanation"],
    "rectification_report": ["action", "measures", "result"],
    "complexity_request": ["complex_reason"],
    "appeal": ["appeal_reason", "appeal_explanation", "evidence_note"],
    "appeal_decision": ["appeal_decision", "decision_reason"],
    "recheck_request": ["request_recheck", "recheck_reason"],
    "recheck_decision": ["recheck_decision", "recheck_opinion"],
    "return_visit": ["visited", "visit_method", "citizen_satisfied", "citizen_opinion"],
    "supervisor_decision": ["supervisor_decision", "supervisor_opinion"],
    "filing": ["filing_summary"],
}
FORMS = load_forms(SHIPPED_FORMS_DIRECTORY)

ALL_TYPES: dict[str, Any] = {
    "name": "all_types", "title": "全部类型",
    "fields": [
        {"name": "flag", "label": "开关", "type": "boolean", "required": True},
        {"name": "kind", "label": "类别", "type": "choice", "required": True,
         "choices": [["a", "甲"], ["b", "乙"], ["c", "丙"]]},
        {"name": "tags", "label": "标签", "type": "multichoice",
         "choices": [["x", "X"], ["y", "Y"], ["z", "Z"]]},
        {"name": "title", "label": "标题", "type": "text", "max_length": 10},
        {"name": "body", "label": "正文", "type": "textarea", "max_length": 20,
         "required_if": {"field": "flag", "equals": True}},
        {"name": "count", "label": "数量", "type": "integer", "min": 1, "max": 100,
         "required_if": {"field": "kind", "equals": "b"}},
        {"name": "big", "label": "大数", "type": "integer"},
        {"name": "day", "label": "日期", "type": "date"},
        {"name": "moment", "label": "时间", "type": "datetime"},
    ],
}
FORM = parse_form(ALL_TYPES, "all_types.json")
VALID = {"flag": "false", "kind": "a"}


def clean(**values: Any) -> tuple[dict[str, Any], dict[str, str]]:
    return validate_submission(FORM, {**VALID, **values})


# --- shipped forms -------------------------------------------------------------------------

def test_every_shipped_form_loads_with_the_field_names_the_processes_read() -> None:
    assert {name: list(form.field_names) for name, form in FORMS.items()} == SHIPPED
    for form in FORMS.values():
        assert form.title and all(field.label for field in form.fields)


def test_shipped_forms_keep_their_contract() -> None:
    contact = {field.name: field for field in FORMS["contact_record"].fields}
    assert contact["contacted_at"].type == "datetime" and contact["contacted_at"].required
    assert contact["citizen_request"].required_if == Condition("contacted", True)
    assert contact["explanation"].required_if == Condition("problem_exists", False)
    assert contact["contact_method"].choices == (
        ("phone", "电话"), ("sms", "短信"), ("visit", "上门走访"), ("other", "其他"))
    rectification = {field.name: field for field in FORMS["rectification_report"].fields}
    actions = [value for value, _ in rectification["action"].choices]
    assert actions == ["report", "complex", "appeal"]
    assert rectification["action"].choices[1][1] == "申请按复杂件办理（15个工作日）"
    assert rectification["result"].required_if == Condition("action", "report")
    decisions = {"appeal_decision": ["upheld", "rejected"],
                 "recheck_decision": ["confirmed", "overturned"],
                 "supervisor_decision": ["close", "reopen"]}
    for name, values in decisions.items():
        assert [value for value, _ in FORMS[name].fields[0].choices] == values


def test_a_shipped_form_takes_a_complete_submission() -> None:
    cleaned, errors = validate_submission(FORMS["contact_record"], {
        "contacted": "on", "contact_method": "visit", "contacted_at": "2025-03-04T10:30:00+08:00",
        "citizen_request": "希望缩短办理时间", "problem_exists": "true"})
    assert errors == {}
    assert cleaned == {"contacted": True, "contact_method": "visit",
                       "contacted_at": "2025-03-04T10:30:00+08:00",
                       "citizen_request": "希望缩短办理时间", "problem_exists": True,
                       "explanation": None}


# --- definition rules ------------------------------------------------------------------------

def refusal(definition: Any, source: str = "t.json") -> str:
    with pytest.raises(FormDefinitionError) as caught:
        parse_form(definition, source)
    return str(caught.value)


def changed(path: str, value: Any) -> dict[str, Any]:
    """ALL_TYPES with one key set (``fields.3.max_length``); ``value=...`` deletes it."""
    definition = copy.deepcopy(ALL_TYPES)
    *parents, last = [int(part) if part.isdigit() else part for part in path.split(".")]
    target: Any = definition
    for part in parents:
        target = target[part]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return definition


@pytest.mark.parametrize(("path", "value", "message"), [
    ("name", "Contact", "name: 'Contact' is not a lowercase Python identifier "
                        "(a-z, 0-9, _; starting with a letter)"),
    ("fields.0.name", "_flag", "fields[0].name: '_flag' is not a lowercase Python identifier "
                               "(a-z, 0-9, _; starting with a letter)"),
    ("fields.0.name", "2nd", "fields[0].name: '2nd' is not a lowercase Python identifier "
                             "(a-z, 0-9, _; starting with a letter)"),
    ("fields.0.name", "class", "fields[0].name: 'class' is a Python keyword"),
    ("fields.0.name", "csrf_token", "fields[0].name: 'csrf_token' is reserved"),
    ("fields.1.name", "flag", "fields[1].name: duplicate field name 'flag'"),
    ("fields.3.type", "email", "fields[3].type: unknown type 'email'; expected one of text, "
                               "textarea, boolean, choice, multichoice, integer, date, datetime"),
    ("fields.3.colour", "red", "fields[3].colour: unknown key"),
    ("colour", "red", "colour: unknown key"),
    ("title", ..., "title: is missing"),
    ("fields.3.label", ..., "fields[3].label: is missing"),
    ("fields.3.label", " ", "fields[3].label: must be a non-empty string"),
    ("fields", [], "fields: must be a non-empty list"),
    ("fields.2", "tags", "fields[2]: must be an object"),
    ("fields.0.required", "yes", "fields[0].required: must be true or false"),
    ("fields.1.choices", ..., "fields[1].choices: is required for a choice field"),
    ("fields.2.choices", [], "fields[2].choices: must be a non-empty list of [value, label] pairs"),
    ("fields.1.choices", [["a", "甲"], ["a", "乙"]],
     "fields[1].choices[1]: duplicate choice value 'a'"),
    ("fields.1.choices", [["a", "甲"], ["b"]],
     "fields[1].choices[1]: must be a [value, label] pair of non-empty strings"),
    ("fields.3.choices", [["a", "甲"]],
     "fields[3].choices: is only for choice and multichoice fields"),
    ("fields.0.max_length", 5, "fields[0].max_length: is only for text and textarea fields"),
    ("fields.3.max_length", 0, "fields[3].max_length: must be a positive integer"),
    ("fields.3.min", 1, "fields[3].min: is only for integer fields"),
    ("fields.5.min", 1.5, "fields[5].min: must be a 64-bit integer"),
    ("fields.5.min", 101, "fields[5].max: must not be less than min"),
    ("fields.4.required_if", {"field": "count", "equals": 3},
     "fields[4].required_if.field: refers to a later field 'count'; "
     "required_if may only refer to an earlier field"),
    ("fields.4.required_if", {"field": "nothing", "equals": 3},
     "fields[4].required_if.field: refers to an unknown field 'nothing'; "
     "required_if may only refer to an earlier field"),
    ("fields.4.required_if", {"field": "tags", "equals": "x"},
     "fields[4].required_if.field: refers to the multichoice field 'tags'; required_if may "
     "only refer to boolean, choice, integer, text fields"),
    ("fields.4.required_if", {"field": "flag"},
     "fields[4].required_if: must be an object with exactly the keys field and equals"),
    ("fields.4.required_if", {"field": "flag", "equals": "true"},
     "fields[4].required_if.equals: must be true or false for the boolean field 'flag'"),
    ("fields.5.required_if", {"field": "kind", "equals": "d"},
     "fields[5].required_if.equals: must be one of a, b, c for the choice field 'kind'"),
    ("fields.4.required", True, "fields[4].required_if: a required field cannot also have "
                                "required_if"),
])
def test_a_bad_definition_is_refused_naming_source_field_and_reason(path: str, value: Any,
                                                                     message: str) -> None:
    assert refusal(changed(path, value)) == f"t.json: {message}"


def test_the_definition_must_be_an_object() -> None:
    assert refusal("[1, 2]") == "t.json: (top level): must be a JSON object"


def test_invalid_json_is_refused_with_line_and_column() -> None:
    text = '{\n  "name": "x",\n  "title": "标题"\n  "fields": []\n}'
    assert refusal(text) == "t.json: line 4, column 3: invalid JSON: Expecting ',' delimiter"


def test_a_duplicate_json_key_is_refused() -> None:
    assert refusal('{"name": "x", "name": "y"}') == "t.json: (JSON): duplicate key 'name'"


def test_bytes_must_be_utf8() -> None:
    assert refusal(b'{"name": "\xff"}') == "t.json: byte 10: not valid UTF-8"


def test_the_file_name_must_be_the_form_name(tmp_path: Path) -> None:
    path = tmp_path / "other_name.json"
    path.write_text(json.dumps(ALL_TYPES), encoding="utf-8")
    with pytest.raises(FormDefinitionError) as caught:
        load_forms(tmp_path)
    assert str(caught.value) == (f"{path}: name: 'all_types' does not match the file name "
                                 "'other_name.json'")
    path.rename(tmp_path / "all_types.json")
    assert load_forms(tmp_path) == {"all_types": FORM}
    assert load_form(tmp_path / "all_types.json") == FORM


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FormDefinitionError, match="is not a directory"):
        load_forms(tmp_path / "absent")


def test_defaults_and_hashability() -> None:
    text, body = FORM.fields[3], FORM.fields[4]
    assert text.max_length == 10 and not text.required and text.help is None
    assert parse_form(changed("fields.3.max_length", ...), "t").fields[3].max_length == 200
    assert parse_form(changed("fields.4.max_length", ...), "t").fields[4].max_length == 5000
    assert body.required_if == Condition("flag", True)
    assert hash(FORM) == hash(parse_form(json.dumps(ALL_TYPES), "again"))
    assert isinstance(FORM, FormDefinition) and FORM.description is None


# --- submissions ---------------------------------------------------------------------------

def test_a_minimal_submission_cleans_every_field_absent_optional_ones_to_none() -> None:
    assert clean() == ({"flag": False, "kind": "a", "tags": [], "title": None, "body": None,
                        "count": None, "big": None, "day": None, "moment": None}, {})


@pytest.mark.parametrize(("value", "expected"), [
    ("true", True), ("on", True), ("1", True), ("yes", True), ("TRUE", True), (True, True),
    ("false", False), ("off", False), ("0", False), ("no", False), (False, False),
])
def test_booleans_as_a_browser_or_a_json_client_sends_them(value: Any, expected: bool) -> None:
    cleaned, errors = clean(flag=value, body="说明")
    assert errors == {} and cleaned["flag"] is expected


@pytest.mark.parametrize("value", ["maybe", 1, 0, 2.5, ["true"]])
def test_other_boolean_values_are_refused(value: Any) -> None:
    assert clean(flag=value)[1] == {"flag": "请选择“是”或“否”"}


def test_required_fields_missing_or_blank() -> None:
    for blank in (None, "", "   ", []):
        cleaned, errors = validate_submission(FORM, {"flag": blank, "kind": blank})
        assert errors == {"flag": "此项为必填项", "kind": "此项为必填项"}
        assert "flag" not in cleaned and cleaned["tags"] == []


def test_required_if_both_ways() -> None:
    assert clean(flag="true")[1] == {"body": "此项为必填项"}
    assert clean(flag="false")[1] == {}
    assert clean(kind="b")[1] == {"count": "此项为必填项"}
    assert clean(kind="b", count="5")[0]["count"] == 5
    assert clean(kind="c")[1] == {}
    # a condition on a field that is itself in error is not met
    assert clean(flag="maybe")[1] == {"flag": "请选择“是”或“否”"}
    # a value given while not required is kept
    assert clean(body="补充")[0]["body"] == "补充"


def test_choices() -> None:
    assert clean(kind="c")[0]["kind"] == "c"
    for bad in ("d", "A", 1, ["a"]):
        assert clean(kind=bad)[1] == {"kind": "请从列表中选择有效的选项"}


def test_multichoice_is_deduplicated_in_definition_order() -> None:
    assert clean(tags=["z", "x", "z", ""])[0]["tags"] == ["x", "z"]
    assert clean(tags="y")[0]["tags"] == ["y"]
    assert clean(tags=("y",))[0]["tags"] == ["y"]
    for bad in (["x", "w"], [1], {"x": 1}):
        assert clean(tags=bad)[1] == {"tags": "请从列表中选择有效的选项"}


def test_text_is_stripped_bounded_and_single_line() -> None:
    assert clean(title="  标题  ")[0]["title"] == "标题"
    assert clean(title="一" * 10)[1] == {}
    assert clean(title="一" * 11)[1] == {"title": "不能超过10个字符（当前11个）"}
    assert clean(title="两\n行")[1] == {"title": "不能包含换行"}
    assert clean(title="零\x00")[1] == {"title": "包含不允许的控制字符"}
    assert clean(title=5)[1] == {"title": "请输入文字"}


def test_textarea_keeps_lines_and_counts_a_browser_newline_once() -> None:
    assert clean(body="第一行\r\n第二行\t完")[0]["body"] == "第一行\n第二行\t完"
    assert clean(body="一\r\n" * 6 + "二")[1] == {}  # 19 characters once CRLF is LF
    assert clean(body="\ud800")[1] == {"body": "包含不允许的控制字符"}


@pytest.mark.parametrize(("value", "expected"), [
    ("5", 5), (" +7 ", 7), ("0100", 100), (42, 42), ("1", 1),
])
def test_integers(value: Any, expected: int) -> None:
    assert clean(count=value)[0]["count"] == expected


@pytest.mark.parametrize(("field", "value", "message"), [
    ("count", "0", "不能小于1"), ("count", "101", "不能大于100"), ("count", 1000, "不能大于100"),
    ("count", "1.5", "请输入整数"), ("count", 2.0, "请输入整数"), ("count", True, "请输入整数"),
    ("count", "1_000", "请输入整数"), ("count", "١٢", "请输入整数"), ("count", "5 5", "请输入整数"),
    ("big", "9" * 5000, "不能大于9223372036854775807"),
    ("big", "-" + "9" * 30, "不能小于-9223372036854775807"),
])
def test_integer_errors(field: str, value: Any, message: str) -> None:
    assert clean(**{field: value})[1] == {field: message}


def test_dates() -> None:
    assert clean(day="2025-02-28")[0]["day"] == "2025-02-28"
    assert clean(day=date(2025, 3, 1))[0]["day"] == "2025-03-01"
    for bad in ("2025-02-30", "20250228", "2025-W09-1", "28/02/2025", 20250228,
                datetime(2025, 2, 28, tzinfo=timezone.utc)):
        assert clean(day=bad)[1] == {"day": "请输入有效的日期，格式为YYYY-MM-DD"}


def test_datetimes_need_an_offset_and_are_kept_in_beijing_time() -> None:
    assert clean(moment="2025-03-04T02:30:00Z")[0]["moment"] == "2025-03-04T10:30:00+08:00"
    assert clean(moment="2025-03-04 10:30+08:00")[0]["moment"] == "2025-03-04T10:30:00+08:00"
    aware = datetime(2025, 3, 4, 10, 30, tzinfo=timezone(timedelta(hours=8)))
    assert clean(moment=aware)[0]["moment"] == "2025-03-04T10:30:00+08:00"
    assert clean(moment="2025-03-04T10:30")[1] == {"moment": "时间须带时区，如+08:00"}
    assert clean(moment=datetime(2025, 3, 4))[1] == {"moment": "时间须带时区，如+08:00"}
    for bad in ("2025-03-04", "2025-13-04T10:30+08:00", "昨天", "2025-03-04T10:30+25:00", 5):
        assert clean(moment=bad)[1] == {"moment": "请输入有效的时间，格式如2025-01-02T09:30+08:00"}
    assert clean(moment="0001-01-01T00:00+14:00")[1] == {"moment": "时间超出可用范围"}


def test_unknown_fields_are_refused_under_one_key() -> None:
    cleaned, errors = clean(colour="red", csrf_token="x")
    assert errors == {UNKNOWN_KEY: "包含表单中没有的字段：colour、csrf_token"}
    assert "colour" not in cleaned
    many = {f"k{index}": "v" for index in range(7)}
    assert clean(**many)[1][UNKNOWN_KEY] == "包含表单中没有的字段：k0、k1、k2、k3、k4等"


def test_data_must_be_a_mapping() -> None:
    with pytest.raises(TypeError):
        validate_submission(FORM, [("flag", "true")])  # type: ignore[arg-type]


def test_cleaned_values_are_json_and_clean_again_to_themselves() -> None:
    cleaned, errors = clean(flag="on", body="正文", tags=["y"], title="题", count="3", big="-4",
                            day="2025-01-02", moment="2025-01-02T09:00:00+08:00")
    assert errors == {}
    assert json.loads(json.dumps(cleaned)) == cleaned
    assert validate_submission(FORM, cleaned) == (cleaned, {})


# --- properties ----------------------------------------------------------------------------

ALL_FORMS = [FORM, *FORMS.values()]
values = st.one_of(st.text(), st.sampled_from(["true", "false", "on", "0", "a", "b", "x",
                                               "2025-01-02", "2025-01-02T03:04+08:00", "12"]))


@given(form=st.sampled_from(ALL_FORMS), data=st.data())
def test_arbitrary_strings_never_raise_only_return_errors(form: FormDefinition,
                                                          data: st.DataObject) -> None:
    keys = st.one_of(st.sampled_from(form.field_names), st.text())
    submission = data.draw(st.dictionaries(keys, values))
    cleaned, errors = validate_submission(form, submission)
    assert all(isinstance(message, str) and message for message in errors.values())
    assert set(errors) <= {*form.field_names, UNKNOWN_KEY}
    json.dumps(cleaned, ensure_ascii=False).encode("utf-8")
    if not errors:
        assert list(cleaned) == list(form.field_names)
        assert validate_submission(form, cleaned) == (cleaned, {})


@given(st.dictionaries(st.sampled_from(FORM.field_names),
                       st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                                 st.lists(st.text(max_size=3)), st.text())))
def test_arbitrary_json_values_never_raise(submission: dict[str, Any]) -> None:
    cleaned, errors = validate_submission(FORM, submission)
    json.dumps(cleaned)
    assert all(isinstance(message, str) for message in errors.values())
