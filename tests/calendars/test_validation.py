"""Every validation rule of the year data, each with its exact message."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from calendars import (
    CalendarDataError,
    CalendarError,
    Festival,
    YearData,
    load_year_file,
    parse_year_data,
)

VALID_TOML = """\
year = 2025
notice = "国务院办公厅关于2025年部分节假日安排的通知"

[[festivals]]
name = "元旦"
holidays = [2025-01-01]
workdays = []

[[festivals]]
name = "劳动节"
holidays = ["2025-05-01", "2025-05-02", "2025-05-03"]
workdays = [2025-04-27]
note = "按通知"
"""

VALID_DICT: dict[str, Any] = {
    "year": 2025,
    "notice": "国务院办公厅关于2025年部分节假日安排的通知",
    "festivals": [
        {"name": "元旦", "holidays": ["2025-01-01"], "workdays": []},
        {"name": "劳动节", "holidays": ["2025-05-01", "2025-05-02", "2025-05-03"],
         "workdays": ["2025-04-27"], "note": "按通知"},
    ],
}


def message(document: Any, source: str = "db:2025") -> str:
    with pytest.raises(CalendarDataError) as info:
        YearData.from_dict(document, source)
    return str(info.value)


def changed(**changes: Any) -> dict[str, Any]:
    """VALID_DICT with top-level keys replaced (a value of ``...`` removes the key)."""
    document = copy.deepcopy(VALID_DICT)
    for key, value in changes.items():
        if value is ...:
            del document[key]
        else:
            document[key] = value
    return document


def festival_changed(index: int, **changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(VALID_DICT)
    for key, value in changes.items():
        if value is ...:
            del document["festivals"][index][key]
        else:
            document["festivals"][index][key] = value
    return document


def test_valid_text_and_dict_give_the_same_data() -> None:
    from_text = parse_year_data(VALID_TOML, "2025.toml")
    from_bytes = parse_year_data(VALID_TOML.encode("utf-8"), "2025.toml")
    from_dict = YearData.from_dict(VALID_DICT)
    assert from_text == from_bytes == from_dict
    assert from_text.holidays == {date(2025, 1, 1): "元旦", date(2025, 5, 1): "劳动节",
                                  date(2025, 5, 2): "劳动节", date(2025, 5, 3): "劳动节"}
    assert from_text.workdays == {date(2025, 4, 27): "劳动节"}
    assert from_text.to_dict() == VALID_DICT
    assert YearData.from_dict(json.loads(json.dumps(from_text.to_dict()))) == from_text


def test_year_data_is_immutable_and_hashable() -> None:
    data = YearData.from_dict(VALID_DICT)
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.year = 2026  # type: ignore[misc]
    with pytest.raises(TypeError):
        data.holidays[date(2025, 1, 2)] = "元旦"  # type: ignore[index]
    assert hash(data) == hash(YearData.from_dict(VALID_DICT))


def test_year_data_pickles_and_copies() -> None:
    data = YearData.from_dict(VALID_DICT)
    for clone in (pickle.loads(pickle.dumps(data)), copy.deepcopy(data), copy.copy(data)):
        assert clone == data
        assert clone.holidays == data.holidays and clone.workdays == data.workdays


def test_other_notices_round_trip() -> None:
    document = changed(other_notices=["国务院办公厅关于调整2025年劳动节假期安排的通知"])
    data = YearData.from_dict(document)
    assert data.other_notices == ("国务院办公厅关于调整2025年劳动节假期安排的通知",)
    assert data.to_dict() == document


# -- not valid TOML / not readable -----------------------------------------------------
def test_invalid_toml_names_line_and_column() -> None:
    with pytest.raises(CalendarDataError) as info:
        parse_year_data("year = 2025\nnotice = \n", "uploads/2025.toml")
    assert str(info.value) == ("uploads/2025.toml: not valid TOML: "
                               "Invalid value (at line 2, column 10)")
    assert info.value.key is None and info.value.source == "uploads/2025.toml"


def test_impossible_toml_date_is_invalid_toml() -> None:
    with pytest.raises(CalendarDataError, match=r"^x\.toml: not valid TOML: Invalid date or "
                                                r"datetime \(at line 2, column 5\)$"):
        parse_year_data("year = 2025\nx = 2025-02-30\n", "x.toml")


def test_invalid_utf8() -> None:
    with pytest.raises(CalendarDataError) as info:
        parse_year_data(b"year = \xff", "upload")
    assert str(info.value) == "upload: not valid UTF-8 (invalid start byte at byte 7)"


def test_content_of_wrong_type() -> None:
    with pytest.raises(TypeError, match="content must be str or bytes, not int"):
        parse_year_data(2025, "x")  # type: ignore[arg-type]


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "2025.toml"
    with pytest.raises(CalendarDataError) as info:
        load_year_file(missing)
    assert str(info.value) == f"{missing}: cannot be read (No such file or directory)"


# -- structure -----------------------------------------------------------------------
@pytest.mark.parametrize(("document", "expected"), [
    (changed(notice=...), "db:2025: notice: missing required key"),
    (changed(year=...), "db:2025: year: missing required key"),
    (changed(festivals=...), "db:2025: festivals: missing required key"),
    (festival_changed(1, workdays=...), "db:2025: festivals[1].workdays: missing required key"),
    (festival_changed(0, name=...), "db:2025: festivals[0].name: missing required key"),
    (festival_changed(0, holidays=...), "db:2025: festivals[0].holidays: missing required key"),
], ids=["notice", "year", "festivals", "workdays", "name", "holidays"])
def test_missing_keys(document: dict[str, Any], expected: str) -> None:
    assert message(document) == expected


@pytest.mark.parametrize(("document", "expected"), [
    (changed(year="2025"), "db:2025: year: expected integer, got string"),
    (changed(year=True), "db:2025: year: expected integer, got boolean"),
    (changed(year=2025.0), "db:2025: year: expected integer, got float"),
    (changed(notice=7), "db:2025: notice: expected string, got integer"),
    (changed(notice="  "), "db:2025: notice: must not be empty"),
    (changed(other_notices="x"), "db:2025: other_notices: expected array, got string"),
    (changed(other_notices=["ok", 3]), "db:2025: other_notices[1]: expected string, got integer"),
    (changed(festivals={"name": "元旦"}), "db:2025: festivals: expected array, got table"),
    (changed(festivals=["元旦"]), "db:2025: festivals[0]: expected table, got string"),
    (festival_changed(0, name=["元旦"]), "db:2025: festivals[0].name: expected string, got array"),
    (festival_changed(0, holidays="2025-01-01"),
     "db:2025: festivals[0].holidays: expected array, got string"),
    (festival_changed(1, workdays={}), "db:2025: festivals[1].workdays: expected array, got table"),
    (festival_changed(1, note=3), "db:2025: festivals[1].note: expected string, got integer"),
], ids=lambda value: value if isinstance(value, str) else None)
def test_wrong_types(document: dict[str, Any], expected: str) -> None:
    assert message(document) == expected


def test_top_level_must_be_a_table() -> None:
    assert message([VALID_DICT]) == "db:2025: expected a table at the top level, got array"


@pytest.mark.parametrize(("document", "expected"), [
    (changed(colour="red"),
     "db:2025: colour: unknown key (allowed: year, notice, other_notices, festivals)"),
    (festival_changed(1, date="2025-05-01"),
     "db:2025: festivals[1].date: unknown key (allowed: name, holidays, workdays, note)"),
], ids=["top", "festival"])
def test_unknown_keys(document: dict[str, Any], expected: str) -> None:
    assert message(document) == expected


def test_unknown_key_in_toml_text() -> None:
    with pytest.raises(CalendarDataError) as info:
        parse_year_data(VALID_TOML + "\n[extra]\nx = 1\n", "2025.toml")
    assert str(info.value) == ("2025.toml: extra: unknown key "
                               "(allowed: year, notice, other_notices, festivals)")


# -- year ----------------------------------------------------------------------------
@pytest.mark.parametrize(("year", "expected"), [
    (1999, "db:2025: year: 1999 is out of range 2000..2099"),
    (2100, "db:2025: year: 2100 is out of range 2000..2099"),
])
def test_year_out_of_range(year: int, expected: str) -> None:
    assert message(changed(year=year)) == expected


def test_year_must_match_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "2024.toml"
    path.write_text(VALID_TOML, encoding="utf-8")
    with pytest.raises(CalendarDataError) as info:
        load_year_file(path)
    assert str(info.value) == f"{path}: year: 2025 does not match the file name 2024.toml"
    assert info.value.key == "year"
    with pytest.raises(CalendarDataError, match=r"^data/2026\.toml: year: 2025 does not "
                                                r"match the file name 2026\.toml$"):
        parse_year_data(VALID_TOML, "data/2026.toml")


def test_other_file_names_are_not_checked(tmp_path: Path) -> None:
    path = tmp_path / "holidays-2025-final.toml"
    path.write_text(VALID_TOML, encoding="utf-8")
    assert load_year_file(path).year == 2025
    matching = tmp_path / "2025.toml"
    matching.write_text(VALID_TOML, encoding="utf-8")
    assert load_year_file(matching).year == 2025


# -- dates ---------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["2025-02-30", "2025/01/01", "20250101", "2025-1-1", "",
                                 "2025-01-01T00:00:00"])
def test_bad_date_strings(bad: str) -> None:
    assert message(festival_changed(0, holidays=["2025-01-01", bad])) == (
        f"db:2025: festivals[0].holidays[1]: '{bad}' is not a valid date (expected YYYY-MM-DD)")


def test_date_values_of_wrong_type() -> None:
    assert message(festival_changed(1, workdays=[20250427])) == (
        "db:2025: festivals[1].workdays[0]: expected a date, got integer")
    text = VALID_TOML.replace("workdays = [2025-04-27]", "workdays = [2025-04-27T08:00:00+08:00]")
    with pytest.raises(CalendarDataError) as info:
        parse_year_data(text, "2025.toml")
    assert str(info.value) == "2025.toml: festivals[1].workdays[0]: expected a date, got date-time"


def test_date_outside_its_year() -> None:
    assert message(festival_changed(0, holidays=["2025-01-01", "2026-01-01"])) == (
        "db:2025: festivals[0].holidays[1]: 2026-01-01 is not in year 2025")
    assert message(festival_changed(0, workdays=["2024-12-28"])) == (
        "db:2025: festivals[0].workdays[0]: 2024-12-28 is not in year 2025")


def test_makeup_workday_must_be_a_weekend_day() -> None:
    assert message(festival_changed(1, workdays=["2025-04-28"])) == (
        "db:2025: festivals[1].workdays[0]: 2025-04-28 is a Monday; "
        "a make-up workday must be a Saturday or Sunday")


def test_festival_must_be_in_the_allowed_list() -> None:
    assert message(festival_changed(0, name="圣诞节")) == (
        "db:2025: festivals[0].name: '圣诞节' is not one of the festivals "
        "元旦, 春节, 清明节, 劳动节, 端午节, 中秋节, 国庆节")


def test_same_date_twice_as_two_holidays() -> None:
    assert message(festival_changed(1, holidays=["2025-05-01", "2025-01-01"])) == (
        "db:2025: festivals[1].holidays[1]: 2025-01-01 is listed twice "
        "(also at festivals[0].holidays[0])")
    assert message(festival_changed(0, holidays=["2025-01-01", "2025-01-01"])) == (
        "db:2025: festivals[0].holidays[1]: 2025-01-01 is listed twice "
        "(also at festivals[0].holidays[0])")


def test_same_date_as_holiday_and_workday() -> None:
    assert message(festival_changed(1, workdays=["2025-04-27", "2025-05-03"])) == (
        "db:2025: festivals[1].workdays[1]: 2025-05-03 is listed twice "
        "(also at festivals[1].holidays[2])")


def test_festival_without_any_day() -> None:
    assert message(festival_changed(0, holidays=[], workdays=[])) == (
        "db:2025: festivals[0]: lists neither holidays nor make-up workdays")


def test_no_festival_at_all() -> None:
    assert message(changed(festivals=[])) == "db:2025: festivals: must list at least one festival"


def test_errors_carry_source_key_and_reason() -> None:
    with pytest.raises(CalendarError) as info:
        YearData.from_dict(festival_changed(1, workdays=["2025-04-28"]), "upload.toml")
    error = info.value
    assert isinstance(error, CalendarDataError)
    assert (error.source, error.key) == ("upload.toml", "festivals[1].workdays[0]")
    assert error.reason == "2025-04-28 is a Monday; a make-up workday must be a Saturday or Sunday"


# -- direct construction runs the same checks ----------------------------------------
def test_constructor_checks_the_same_rules() -> None:
    good = Festival("劳动节", holidays=(date(2025, 5, 1),), workdays=(date(2025, 4, 27),))
    assert YearData(2025, "通知", (good,)).workdays == {date(2025, 4, 27): "劳动节"}
    with pytest.raises(CalendarDataError) as info:
        YearData(2025, "通知", (Festival("劳动节", workdays=(date(2025, 4, 28),)),))
    assert str(info.value) == ("YearData: festivals[0].workdays[0]: 2025-04-28 is a Monday; "
                               "a make-up workday must be a Saturday or Sunday")


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"year": "2025"}, "YearData: year: expected integer, got string"),
    ({"year": 1990}, "YearData: year: 1990 is out of range 2000..2099"),
    ({"notice": ""}, "YearData: notice: must not be empty"),
    ({"festivals": []}, "YearData: festivals: expected a tuple"),
    ({"festivals": ()}, "YearData: festivals: must list at least one festival"),
    ({"festivals": ("元旦",)}, "YearData: festivals[0]: expected a Festival, got string"),
    ({"festivals": (Festival("元旦", holidays=[date(2025, 1, 1)]),)},  # type: ignore[arg-type]
     "YearData: festivals[0].holidays: expected a tuple"),
    ({"festivals": (Festival("元旦", holidays=("2025-01-01",)),)},  # type: ignore[arg-type]
     "YearData: festivals[0].holidays[0]: expected a date, got string"),
    ({"festivals": (Festival("元旦", holidays=(date(2025, 1, 1),), note=None),)},  # type: ignore[arg-type]
     "YearData: festivals[0].note: expected string, got NoneType"),
    ({"other_notices": ["x"]}, "YearData: other_notices: expected a tuple"),
    ({"other_notices": ("",)}, "YearData: other_notices[0]: must not be empty"),
])
def test_constructor_refuses_wrong_types(kwargs: dict[str, Any], expected: str) -> None:
    arguments: dict[str, Any] = {
        "year": 2025, "notice": "通知",
        "festivals": (Festival("元旦", holidays=(date(2025, 1, 1),)),),
    }
    arguments.update(kwargs)
    with pytest.raises(CalendarDataError) as info:
        YearData(**arguments)
    assert str(info.value) == expected
