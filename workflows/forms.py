"""Forms as data: the definitions in ``bpmn/forms/<name>.json`` and what a task accepts.

Each user task names a form; when the task is completed the form's cleaned values become
process variables of the same names.  :func:`validate_submission` is the single source of
truth for what a form accepts (in :mod:`workflows.form_values`): the web form
(``app.forms.dynamic``) and the JSON task API both call it.  Plain standard library: no web framework, nothing from ``app``.

Submission rules are in :mod:`workflows.form_values`.
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIELD_TYPES = ("text", "textarea", "boolean", "choice", "multichoice", "integer", "date",
               "datetime")
DEFAULT_MAX_LENGTH = {"text": 200, "textarea": 5000}
CONDITION_TYPES = ("boolean", "choice", "integer", "text")
#: Names a web form object uses for itself (WTForms/Flask-WTF attributes, inline
#: ``validate_<name>`` hooks, the CSRF field, the dynamic form's own attributes).
RESERVED_NAMES = frozenset({
    "cleaned_data", "csrf_token", "data", "definition", "errors", "form_errors", "hidden_tag",
    "is_submitted", "meta", "on_submit", "populate_obj", "post_process", "process", "submit",
    "submitted_data", "validate", "validate_on_submit"})
INTEGER_LIMIT = 2**63 - 1
SHIPPED_FORMS_DIRECTORY = Path(__file__).resolve().parent.parent / "bpmn" / "forms"

_NAME = re.compile(r"[a-z][a-z0-9_]*")
_FORM_KEYS = frozenset({"name", "title", "description", "fields"})
_FIELD_KEYS = frozenset({"name", "label", "type", "required", "required_if", "choices",
                         "max_length", "min", "max", "help"})


class FormDefinitionError(ValueError):
    """A bad definition; the message is ``<source>: <where>: <reason>``."""

    def __init__(self, source: str, where: str, reason: str) -> None:
        super().__init__(f"{source}: {where}: {reason}")
        self.source, self.where, self.reason = source, where, reason


@dataclass(frozen=True)
class Condition:
    """``required_if``: the field is required when ``field``'s cleaned value equals ``equals``."""

    field: str
    equals: bool | int | str


@dataclass(frozen=True)
class FieldDefinition:
    name: str
    label: str
    type: str
    required: bool = False
    required_if: Condition | None = None
    choices: tuple[tuple[str, str], ...] = ()
    max_length: int | None = None
    min: int | None = None
    max: int | None = None
    help: str | None = None


@dataclass(frozen=True)
class FormDefinition:
    name: str
    title: str
    fields: tuple[FieldDefinition, ...]
    description: str | None = None

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(field.name for field in self.fields)


def load_forms(directory: str | Path) -> dict[str, FormDefinition]:
    """Every ``*.json`` definition in ``directory``, by form name."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FormDefinitionError(str(directory), "(directory)", "is not a directory")
    return {form.name: form for form in map(load_form, sorted(directory.glob("*.json")))}


def load_form(path: str | Path) -> FormDefinition:
    """One definition file; its name without ``.json`` must be the form's ``name``."""
    path = Path(path)
    try:
        content = path.read_bytes()
    except OSError as error:
        reason = f"cannot be read: {error.strerror}"
        raise FormDefinitionError(str(path), "(file)", reason) from None
    form = parse_form(content, str(path))
    if form.name != path.stem:
        reason = f"{form.name!r} does not match the file name {path.name!r}"
        raise FormDefinitionError(str(path), "name", reason)
    return form


def parse_form(definition: str | bytes | Mapping[str, Any], source: str) -> FormDefinition:
    """A definition from JSON text or a decoded mapping; ``source`` names it in errors."""
    try:
        return _parse(_decode(definition) if isinstance(definition, (str, bytes)) else definition)
    except _Bad as bad:
        raise FormDefinitionError(source, *bad.args) from None


class _Bad(Exception):
    """A broken rule: ``(where, reason)``; :func:`parse_form` adds the source."""


def _check(ok: bool, where: str, reason: str) -> None:
    if not ok:
        raise _Bad(where, reason)


def _parse(raw: Any) -> FormDefinition:
    _check(isinstance(raw, Mapping), "(top level)", "must be a JSON object")
    _check_keys(raw, _FORM_KEYS, ("name", "title", "fields"), "")
    name, title = _name(raw["name"], "name"), _string(raw["title"], "title")
    description = _string(raw["description"], "description") if "description" in raw else None
    items = raw["fields"]
    _check(isinstance(items, list) and bool(items), "fields", "must be a non-empty list")
    all_names = [item.get("name") for item in items if isinstance(item, Mapping)]
    fields: dict[str, FieldDefinition] = {}
    for index, item in enumerate(items):
        field = _parse_field(item, f"fields[{index}]", fields, all_names)
        fields[field.name] = field
    return FormDefinition(name, title, tuple(fields.values()), description)


def _parse_field(raw: Any, where: str, earlier: Mapping[str, FieldDefinition],
                 all_names: list[Any]) -> FieldDefinition:
    _check(isinstance(raw, Mapping), where, "must be an object")
    _check_keys(raw, _FIELD_KEYS, ("name", "label", "type"), f"{where}.")
    name = _name(raw["name"], f"{where}.name")
    _check(name not in earlier, f"{where}.name", f"duplicate field name {name!r}")
    label, kind = _string(raw["label"], f"{where}.label"), raw["type"]
    _check(kind in FIELD_TYPES, f"{where}.type",
           f"unknown type {kind!r}; expected one of {', '.join(FIELD_TYPES)}")
    required = raw.get("required", False)
    _check(isinstance(required, bool), f"{where}.required", "must be true or false")
    for key, types in (("choices", ("choice", "multichoice")), ("max_length", ("text", "textarea")),
                       ("min", ("integer",)), ("max", ("integer",))):
        _check(key not in raw or kind in types, f"{where}.{key}",
               f"is only for {' and '.join(types)} fields")
    choices: tuple[tuple[str, str], ...] = ()
    if kind in ("choice", "multichoice"):
        _check("choices" in raw, f"{where}.choices", f"is required for a {kind} field")
        choices = _parse_choices(raw["choices"], f"{where}.choices")
    max_length = raw.get("max_length", DEFAULT_MAX_LENGTH.get(kind))
    _check("max_length" not in raw or (is_int(max_length) and max_length >= 1),
           f"{where}.max_length", "must be a positive integer")
    low, high = raw.get("min"), raw.get("max")
    for key, bound in (("min", low), ("max", high)):
        _check(key not in raw or (is_int(bound) and abs(bound) <= INTEGER_LIMIT),
               f"{where}.{key}", "must be a 64-bit integer")
    _check(low is None or high is None or low <= high, f"{where}.max", "must not be less than min")
    help_text = _string(raw["help"], f"{where}.help") if "help" in raw else None
    condition = None
    if "required_if" in raw:
        _check(not required, f"{where}.required_if",
               "a required field cannot also have required_if")
        condition = _parse_condition(raw["required_if"], f"{where}.required_if", earlier,
                                     all_names)
    return FieldDefinition(name, label, kind, required, condition, choices, max_length, low,
                           high, help_text)


def _parse_choices(raw: Any, where: str) -> tuple[tuple[str, str], ...]:
    _check(isinstance(raw, list) and bool(raw), where,
           "must be a non-empty list of [value, label] pairs")
    seen: dict[str, str] = {}
    for index, pair in enumerate(raw):
        _check(isinstance(pair, list) and len(pair) == 2
               and all(isinstance(part, str) and part.strip() for part in pair),
               f"{where}[{index}]", "must be a [value, label] pair of non-empty strings")
        _check(pair[0] not in seen, f"{where}[{index}]", f"duplicate choice value {pair[0]!r}")
        seen[pair[0]] = pair[1]
    return tuple(seen.items())


def _parse_condition(raw: Any, where: str, earlier: Mapping[str, FieldDefinition],
                     all_names: list[Any]) -> Condition:
    _check(isinstance(raw, Mapping) and set(raw) == {"field", "equals"}, where,
           "must be an object with exactly the keys field and equals")
    name, equals = raw["field"], raw["equals"]
    target = earlier.get(name) if isinstance(name, str) else None
    if target is None:
        place = "a later" if name in all_names else "an unknown"
        raise _Bad(f"{where}.field", f"refers to {place} field {name!r}; "
                                     "required_if may only refer to an earlier field")
    _check(target.type in CONDITION_TYPES, f"{where}.field",
           f"refers to the {target.type} field {name!r}; required_if may only refer to "
           f"{', '.join(CONDITION_TYPES)} fields")
    choices = [value for value, _ in target.choices]
    valid = {"boolean": isinstance(equals, bool), "integer": is_int(equals),
             "text": isinstance(equals, str),
             "choice": isinstance(equals, str) and equals in choices}
    expected = {"boolean": "true or false", "integer": "an integer", "text": "a string",
                "choice": "one of " + ", ".join(choices)}
    _check(valid[target.type], f"{where}.equals",
           f"must be {expected[target.type]} for the {target.type} field {name!r}")
    return Condition(name, equals)


def _decode(text: str | bytes) -> Any:
    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        for key in keys:
            _check(keys.count(key) == 1, "(JSON)", f"duplicate key {key!r}")
        return dict(pairs)

    try:
        return json.loads(text.decode("utf-8-sig") if isinstance(text, bytes) else text,
                          object_pairs_hook=unique)
    except UnicodeDecodeError as error:
        raise _Bad(f"byte {error.start}", "not valid UTF-8") from None
    except json.JSONDecodeError as error:
        raise _Bad(f"line {error.lineno}, column {error.colno}",
                   f"invalid JSON: {error.msg}") from None


def _check_keys(raw: Mapping[Any, Any], allowed: frozenset[str], required: tuple[str, ...],
                prefix: str) -> None:
    unknown = sorted(str(key) for key in raw if key not in allowed)
    _check(not unknown, f"{prefix}{unknown[0] if unknown else ''}", "unknown key")
    for key in required:
        _check(key in raw, f"{prefix}{key}", "is missing")


def _name(name: Any, where: str) -> str:
    _check(isinstance(name, str) and bool(_NAME.fullmatch(name)), where,
           f"{name!r} is not a lowercase Python identifier (a-z, 0-9, _; starting with a letter)")
    _check(not keyword.iskeyword(name) and not keyword.issoftkeyword(name), where,
           f"{name!r} is a Python keyword")
    _check(name not in RESERVED_NAMES, where, f"{name!r} is reserved")
    return name


def _string(value: Any, where: str) -> str:
    _check(isinstance(value, str) and bool(value.strip()), where, "must be a non-empty string")
    return value


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- submissions -------------------------------------------------------------------------
