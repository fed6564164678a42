"""Flask-WTF form classes built at run time from form definitions.

WTForms renders the fields and checks the CSRF token; what a submission means is decided by
:func:`workflows.form_values.validate_submission` alone.  Its errors replace WTForms' own parsing
errors on the fields (so every message is the engine's Chinese one), and a valid form
exposes the engine's cleaned values as ``cleaned_data``.

Browser conventions are turned into the engine's before validation: an unchecked checkbox
is ``false``, and a ``datetime-local`` value, which carries no offset, is Beijing time.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Any, ClassVar

from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, DateTimeLocalField, IntegerField, SelectChoice,
                     SelectField, SelectMultipleField, StringField, TextAreaField)
from wtforms.fields.core import UnboundField

from calendars import SHANGHAI
from workflows.form_values import validate_submission
from workflows.forms import FieldDefinition, FormDefinition

PLACEHOLDER_LABEL = "请选择"  # the empty first option of a single choice
DATETIME_LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
# What a datetime-local input submits: a local date and time, no offset.
_LOCAL_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}"
                             r"(:[0-9]{2}(\.[0-9]+)?)?")


class DefinitionForm(FlaskForm):
    """Base of the built classes; ``definition`` is the form they were built from."""

    definition: ClassVar[FormDefinition]
    cleaned_data: dict[str, Any] | None = None

    def validate(self, extra_validators: dict[str, Any] | None = None) -> bool:
        """WTForms' checks (the CSRF token), then the engine's validation of the fields."""
        super().validate(extra_validators)
        self.form_errors = []
        for name in self.definition.field_names:
            self[name].errors = []
        cleaned, errors = validate_submission(self.definition, self.submitted_data())
        for name, message in errors.items():
            (self[name].errors if name in self else self.form_errors).append(message)
        self.cleaned_data = None if self.errors else cleaned
        return self.cleaned_data is not None

    def submitted_data(self) -> dict[str, Any]:
        """The submitted values, as :func:`validate_submission` takes them."""
        data: dict[str, Any] = {}
        for definition in self.definition.fields:
            field = self[definition.name]
            raw = list(field.raw_data or [])
            if definition.type == "boolean":
                data[definition.name] = bool(field.data)
            elif definition.type == "multichoice":
                data[definition.name] = raw
            elif definition.type == "datetime":
                data[definition.name] = _with_beijing_offset(raw[0]) if raw else None
            else:
                data[definition.name] = raw[0] if raw else None
        return data


@lru_cache(maxsize=256)
def build_form_class(form: FormDefinition) -> type[DefinitionForm]:
    """The form class for ``form``, built once per definition (name and content)."""
    clashes = sorted(set(form.field_names) & set(dir(DefinitionForm)))
    if clashes:
        raise ValueError(f"form {form.name}: field names clash with the form class: {clashes}")
    attributes: dict[str, Any] = {"definition": form, "__doc__": form.title}
    attributes.update((field.name, _unbound_field(field)) for field in form.fields)
    class_name = "".join(part.capitalize() for part in form.name.split("_")) + "Form"
    return type(class_name, (DefinitionForm,), attributes)


def _unbound_field(field: FieldDefinition) -> UnboundField:
    render_kw: dict[str, Any] = {}
    if field.required and field.type != "boolean":
        render_kw["required"] = True
    options: dict[str, Any] = {"label": field.label, "description": field.help or "",
                               "render_kw": render_kw}
    if field.type in ("text", "textarea"):
        render_kw["maxlength"] = field.max_length
        return (StringField if field.type == "text" else TextAreaField)(**options)
    if field.type == "boolean":
        return BooleanField(**options)
    if field.type == "choice":
        placeholder = SelectChoice("", PLACEHOLDER_LABEL)
        return SelectField(choices=[placeholder, *_choices(field)], validate_choice=False,
                           **options)
    if field.type == "multichoice":
        return SelectMultipleField(choices=_choices(field), validate_choice=False, **options)
    if field.type == "integer":
        render_kw.update((key, value) for key, value in (("min", field.min), ("max", field.max))
                         if value is not None)
        return IntegerField(**options)
    if field.type == "date":
        return DateField(**options)
    if field.type == "datetime":
        return DateTimeLocalField(format=DATETIME_LOCAL_FORMATS, tz=SHANGHAI, **options)
    raise ValueError(f"field {field.name}: no web field for type {field.type!r}")


def _choices(field: FieldDefinition) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in field.choices]


def _with_beijing_offset(value: Any) -> Any:
    """A ``datetime-local`` value as ISO 8601 in Asia/Shanghai; anything else as it is."""
    if not isinstance(value, str) or not _LOCAL_DATETIME.fullmatch(value.strip()):
        return value
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=SHANGHAI).isoformat()
    except ValueError:  # e.g. month 13: validate_submission reports it
        return value
