"""Flask-WTF forms built from the shipped form definitions: rendering, CSRF, and the
engine's validation (``workflows.forms.validate_submission``) on the fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, session
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from werkzeug.datastructures import MultiDict

from app.forms.dynamic import DefinitionForm, build_form_class
from workflows.forms import (
    RESERVED_NAMES,
    SHIPPED_FORMS_DIRECTORY,
    FieldDefinition,
    FormDefinition,
    load_forms,
    parse_form,
)
from workflows.form_values import validate_submission

Submit = Callable[..., DefinitionForm]
FORMS = load_forms(SHIPPED_FORMS_DIRECTORY)
CONTACT = FORMS["contact_record"]
CONTACT_POST = {"contacted": "y", "contact_method": "phone", "contacted_at": "2025-03-04T10:30",
                "citizen_request": "希望缩短办理时间", "problem_exists": "y"}
EVERY_TYPE = parse_form({
    "name": "every_type", "title": "全部类型",
    "fields": [
        {"name": "tags", "label": "标签", "type": "multichoice",
         "choices": [["x", "选项一"], ["y", "选项二"]]},
        {"name": "title", "label": "标题", "type": "text", "help": "简短的标题"},
        {"name": "count", "label": "数量", "type": "integer", "min": 1, "max": 9},
        {"name": "day", "label": "日期", "type": "date"},
    ]}, "every_type.json")


@pytest.fixture
def submit(app: Flask) -> Submit:
    """Posts ``data`` (urlencoded, as a browser does) to the built form and validates it.

    The CSRF token is one the session carries, as after the browser loaded the form."""
    with app.test_request_context("/task"):
        token, raw_token = generate_csrf(), session["csrf_token"]

    def post(definition: FormDefinition, data: Any, token_sent: bool = True) -> DefinitionForm:
        body = MultiDict(data)
        if token_sent:
            body["csrf_token"] = token
        with app.test_request_context("/task", method="POST", data=body):
            session["csrf_token"] = raw_token
            form = build_form_class(definition)()
            assert form.validate_on_submit() is (form.cleaned_data is not None)
            return form

    return post


@pytest.mark.parametrize("name", sorted(FORMS))
def test_every_shipped_form_builds_and_renders_its_labels_and_choices(app: Flask,
                                                                      name: str) -> None:
    definition = FORMS[name]
    with app.test_request_context("/task"):
        form = build_form_class(definition)()
        assert issubclass(type(form), FlaskForm) and type(form).definition == definition
        assert [field.name for field in form if field.name != "csrf_token"] == list(
            definition.field_names)
        for spec in definition.fields:
            html = str(form[spec.name].label) + str(form[spec.name])
            assert spec.label in html and f'name="{spec.name}"' in html
            for value, label in spec.choices:
                assert f'value="{value}">{label}</option>' in html
            if spec.type == "choice":
                assert '<option value="">请选择</option><option value=' in html
            if spec.type == "textarea":
                assert f'maxlength="{spec.max_length}"' in html and "<textarea" in html
            if spec.type == "boolean":
                assert 'type="checkbox"' in html and "required" not in html
            if spec.type == "datetime":
                assert 'type="datetime-local"' in html
            if spec.required and spec.type != "boolean":
                assert "required" in html


def test_other_types_render_with_their_widgets(app: Flask) -> None:
    with app.test_request_context("/task"):
        form = build_form_class(EVERY_TYPE)()
        assert "multiple" in str(form.tags) and ">选项二</option>" in str(form.tags)
        assert 'maxlength="200"' in str(form.title) and form.title.description == "简短的标题"
        assert 'type="number"' in str(form.count) and 'min="1"' in str(form.count)
        assert 'type="date"' in str(form.day)


def test_the_class_is_cached_per_definition() -> None:
    assert build_form_class(CONTACT) is build_form_class(CONTACT)
    again = load_forms(SHIPPED_FORMS_DIRECTORY)["contact_record"]
    assert again is not CONTACT and build_form_class(again) is build_form_class(CONTACT)
    assert build_form_class(FORMS["filing"]) is not build_form_class(CONTACT)
    assert build_form_class(CONTACT).__name__ == "ContactRecordForm"


def test_a_post_without_csrf_token_fails(submit: Submit) -> None:
    form = submit(CONTACT, CONTACT_POST, token_sent=False)
    assert form.csrf_token.errors and form.cleaned_data is None
    assert set(form.errors) == {"csrf_token"}


def test_a_valid_post_gives_the_engines_cleaned_data(submit: Submit) -> None:
    form = submit(CONTACT, CONTACT_POST)
    assert form.errors == {}
    expected, errors = validate_submission(CONTACT, {**CONTACT_POST, "contacted": True,
                                                     "problem_exists": True,
                                                     "contacted_at": "2025-03-04T10:30:00+08:00"})
    assert errors == {} and form.cleaned_data == expected
    assert form.cleaned_data["contacted_at"] == "2025-03-04T10:30:00+08:00"
    assert form.cleaned_data["explanation"] is None


def complete(definition: FormDefinition) -> dict[str, str]:
    """A browser's complete submission: boxes ticked, first choices, text everywhere."""
    values = {"boolean": "y", "textarea": "情况说明", "datetime": "2025-03-04T10:30"}
    return {field.name: field.choices[0][0] if field.choices else values[field.type]
            for field in definition.fields}


@pytest.mark.parametrize("name", sorted(FORMS))
def test_every_shipped_form_takes_a_complete_post(submit: Submit, name: str) -> None:
    posted = complete(FORMS[name])
    form = submit(FORMS[name], posted)
    json_client = {key: True if value == "y" else value for key, value in posted.items()}
    if "contacted_at" in json_client:
        json_client["contacted_at"] += "+08:00"
    assert form.errors == {}
    assert (form.cleaned_data, {}) == validate_submission(FORMS[name], json_client)


def test_an_unchecked_box_is_false_and_errors_land_on_their_fields(submit: Submit) -> None:
    form = submit(CONTACT, {"contact_method": "fax", "contacted_at": "2025-03-04T25:30"})
    assert form.cleaned_data is None
    assert form.errors == {"contact_method": ["请从列表中选择有效的选项"],
                           "contacted_at": ["请输入有效的时间，格式如2025-01-02T09:30+08:00"],
                           "explanation": ["此项为必填项"]}
    assert form.contacted.data is False and not form.contacted.errors


def test_wtforms_own_parsing_messages_are_replaced_by_the_engines(submit: Submit) -> None:
    form = submit(EVERY_TYPE, {"tags": ["x", "w"], "count": "12", "day": "2025-02-30"})
    assert form.errors == {"tags": ["请从列表中选择有效的选项"], "count": ["不能大于9"],
                           "day": ["请输入有效的日期，格式为YYYY-MM-DD"]}
    form = submit(EVERY_TYPE, {"count": "三"})
    assert form.errors == {"count": ["请输入整数"]}


def test_every_type_cleans_through_the_web_form(submit: Submit) -> None:
    form = submit(EVERY_TYPE, MultiDict([("tags", "y"), ("tags", "x"), ("title", " 题 "),
                                         ("count", "3"), ("day", "2025-01-02")]))
    assert form.cleaned_data == {"tags": ["x", "y"], "title": "题", "count": 3,
                                 "day": "2025-01-02"}
    assert submit(EVERY_TYPE, {}).cleaned_data == {"tags": [], "title": None, "count": None,
                                                  "day": None}


def test_required_if_through_the_web_form(submit: Submit) -> None:
    report = FORMS["rectification_report"]
    assert submit(report, {"action": "report"}).errors == {"measures": ["此项为必填项"],
                                                           "result": ["此项为必填项"]}
    assert submit(report, {"action": "appeal"}).cleaned_data == {
        "action": "appeal", "measures": None, "result": None}


def test_a_definition_built_by_hand_cannot_shadow_the_form() -> None:
    field = FieldDefinition("errors", "错误", "text", max_length=9)
    clash = r"form odd: field names clash with the form class: \['errors'\]"
    with pytest.raises(ValueError, match=clash):
        build_form_class(FormDefinition("odd", "标题", (field,)))


def test_no_field_name_can_shadow_an_attribute_of_the_form(app: Flask) -> None:
    with app.test_request_context("/task"):
        form = build_form_class(CONTACT)()
    attributes = {name for name in dir(form) if not name.startswith("_") and name.islower()}
    hooks = {name.removeprefix("validate_") for name in attributes if name.startswith("validate_")}
    assert (attributes | hooks) - set(CONTACT.field_names) <= RESERVED_NAMES
