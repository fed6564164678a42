"""Property tests of form submissions (workflows/forms.py, workflows/form_values.py), over
every shipped form and a form with every field type: values built from a field's own
definition are accepted; whatever is accepted satisfies the definition, is JSON, and is
accepted again unchanged; junk of any shape is answered with field errors, never an
exception. (test_forms.py has the rule-by-rule examples and text-only junk.)"""

from __future__ import annotations

import json
import math
import unicodedata
from datetime import date, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from calendars import SHANGHAI
from workflows.form_values import UNKNOWN_KEY, validate_submission
from workflows.forms import DEFAULT_MAX_LENGTH, INTEGER_LIMIT, FieldDefinition, FormDefinition

from .test_forms import FORM, FORMS

ALL_FORMS = [FORM, *FORMS.values()]
ALLOWED_CHARACTERS = st.characters(blacklist_categories=("Cc", "Cs"))  # what text fields keep


def _text(field: FieldDefinition) -> st.SearchStrategy[str]:
    limit = field.max_length or DEFAULT_MAX_LENGTH[field.type]
    line = st.text(ALLOWED_CHARACTERS, min_size=1, max_size=min(limit, 60))
    if field.type == "textarea":
        line = st.lists(line, min_size=1, max_size=4).map("\n".join).filter(lambda t: len(t) <= limit)
    return line.filter(lambda t: t.strip() != "")


def value_for(field: FieldDefinition) -> st.SearchStrategy[Any]:
    """A value the field must accept, in any of the forms a browser or a JSON client sends."""
    if field.type in ("text", "textarea"):
        return _text(field)
    if field.type == "boolean":
        return st.sampled_from([True, False, "true", "false", "on", "off", "yes", "no", "1", "0", "TRUE", " on "])
    choices = [value for value, _ in field.choices]
    if field.type == "choice":
        return st.sampled_from(choices)
    if field.type == "multichoice":
        return st.lists(st.sampled_from(choices), min_size=1, unique=True)
    if field.type == "integer":
        low = -INTEGER_LIMIT if field.min is None else field.min
        high = INTEGER_LIMIT if field.max is None else field.max
        number = st.integers(low, high)
        return st.one_of(number, number.map(str))
    if field.type == "date":
        day = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))
        return st.one_of(day, day.map(date.isoformat))
    moment = st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2100, 12, 30), timezones=st.timezones())
    return st.one_of(moment, moment.map(datetime.isoformat))


@st.composite
def valid_submission(draw: st.DrawFn, form: FormDefinition) -> dict[str, Any]:
    """Every required field and, at random, optional ones; a field required by a condition
    is always given, so the condition never decides."""
    data: dict[str, Any] = {}
    for field in form.fields:
        if field.required or field.required_if is not None or draw(st.booleans()):
            data[field.name] = draw(value_for(field))
    return data


def satisfies(field: FieldDefinition, value: Any) -> bool:
    """The cleaned ``value`` within the field's definition."""
    if value is None:
        return not field.required
    if field.type in ("text", "textarea"):
        limit = field.max_length or DEFAULT_MAX_LENGTH[field.type]
        clean = all(unicodedata.category(c) not in ("Cc", "Cs") or c in "\n\t" for c in value)
        return (isinstance(value, str) and 0 < len(value) <= limit and value == value.strip() and clean
                and "\r" not in value and (field.type == "textarea" or "\n" not in value))
    if field.type == "boolean":
        return isinstance(value, bool)
    choices = [choice for choice, _ in field.choices]
    if field.type == "choice":
        return value in choices
    if field.type == "multichoice":
        return isinstance(value, list) and value == [c for c in choices if c in value] and (bool(value) or not field.required)
    if field.type == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)
                and (field.min is None or value >= field.min) and (field.max is None or value <= field.max))
    if field.type == "date":
        return isinstance(value, str) and date.fromisoformat(value).isoformat() == value
    moment = datetime.fromisoformat(value)
    return moment.utcoffset() == SHANGHAI.utcoffset(moment) and moment.isoformat() == value


@settings(max_examples=300)
@given(data=st.data(), form=st.sampled_from(ALL_FORMS))
def test_values_built_from_the_definition_are_accepted_and_kept_within_it(data: st.DataObject,
                                                                          form: FormDefinition) -> None:
    submission = data.draw(valid_submission(form))
    cleaned, errors = validate_submission(form, submission)
    assert errors == {}, (submission, errors)
    assert list(cleaned) == list(form.field_names)
    for field in form.fields:
        assert satisfies(field, cleaned[field.name]), (field.name, cleaned[field.name])
        if field.type in ("text", "textarea") and field.name in submission:
            assert cleaned[field.name] == submission[field.name].strip()
    assert json.loads(json.dumps(cleaned, ensure_ascii=False)) == cleaned
    assert validate_submission(form, cleaned) == (cleaned, {})


JUNK = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=2**63, max_value=2**200),
              st.floats(allow_nan=True, allow_infinity=True), st.text(), st.binary(max_size=8),
              st.dates(), st.datetimes()),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4),
                            st.tuples(inner, inner)),
    max_leaves=12)


@settings(max_examples=300)
@given(data=st.data(), form=st.sampled_from(ALL_FORMS))
def test_junk_of_any_shape_gets_field_errors_and_whatever_passes_is_sound(data: st.DataObject,
                                                                          form: FormDefinition) -> None:
    keys = st.one_of(st.sampled_from(form.field_names), st.text(max_size=10))
    submission = data.draw(st.dictionaries(keys, JUNK, max_size=len(form.fields) + 2))
    cleaned, errors = validate_submission(form, submission)
    assert set(errors) <= {*form.field_names, UNKNOWN_KEY}
    assert all(isinstance(message, str) and message for message in errors.values())
    for name, value in cleaned.items():
        field = next(f for f in form.fields if f.name == name)
        assert satisfies(field, value), (name, value)
        assert not (isinstance(value, float) and math.isnan(value))
    json.dumps(cleaned, ensure_ascii=False)
    if not errors:
        assert validate_submission(form, cleaned) == (cleaned, {})
