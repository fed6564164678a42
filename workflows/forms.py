"""Forms as data: the definitions in ``bpmn/forms/<name>.json`` and what a task accepts.

Each user task names a form; when the task is completed the form's cleaned values become
process variables of the same names.  :func:`validate_submission` is the single source of
truth for what a form accepts: the web form (``app.forms.dynamic``) and the JSON task API
both call it.  Plain standard library: no web framework, nothing from ``app``.

Submission rules (:func:`validate_submission`):

* Values may come as a web form or a JSON client sends them: booleans as ``true``/``false``
  or the strings ``true false on off yes no 1 0``; integers as ``int`` or digit strings;
  dates as ``YYYY-MM-DD``; datetimes as ISO 8601 strings that must carry an offset.
  Strings are stripped; ``None``, blank strings and empty lists count as absent.
* Cleaned values are JSON-serialisable: ``bool``, ``int``, ``str``, lists of ``str``; dates
  as ``YYYY-MM-DD``; datetimes as ISO 8601 in Asia/Shanghai (``...+08:00``).
* Every field of the form is in the cleaned values when the submission is valid: an absent
  optional field is ``None`` (``[]`` for a multichoice field), so gateway expressions
  never meet an undefined variable.  With errors, only the fields that passed are there.
* Field names the form does not define are refused with one error under the key
  :data:`UNKNOWN_KEY` (``"_unknown"``, which no field name can be).
"""

from __future__ import annotations

import json
import keyword
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from calendars import SHANGHAI

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
UNKNOWN_KEY = "_unknown"
INTEGER_LIMIT = 2**63 - 1
SHIPPED_FORMS_DIRECTORY = Path(__file__).resolve().parent.parent / "bpmn" / "forms"

REQUIRED_MESSAGE = "此项为必填项"
_TRUE = frozenset({"true", "on", "yes", "1"})
_FALSE = frozenset({"false", "off", "no", "0"})
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_INTEGER = re.compile(r"([+-]?)([0-9]+)")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}.*")
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
    _check("max_length" not in raw or (_is_int(max_length) and max_length >= 1),
           f"{where}.max_length", "must be a positive integer")
    low, high = raw.get("min"), raw.get("max")
    for key, bound in (("min", low), ("max", high)):
        _check(key not in raw or (_is_int(bound) and abs(bound) <= INTEGER_LIMIT),
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
    valid = {"boolean": isinstance(equals, bool), "integer": _is_int(equals),
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


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- submissions -------------------------------------------------------------------------


class _Invalid(ValueError):
    """A submitted value a field refuses; the argument is the Chinese message."""


def validate_submission(form: FormDefinition,
                        data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """``(cleaned values, errors by field name)`` for ``data`` submitted to ``form``."""
    if not isinstance(data, Mapping):
        raise TypeError(f"data must be a mapping, not {type(data).__name__}")
    known = set(form.field_names)
    unknown = sorted(str(key) for key in data if key not in known)
    errors: dict[str, str] = {}
    if unknown:
        shown = "、".join(name[:40] for name in unknown[:5]) + ("等" if len(unknown) > 5 else "")
        errors[UNKNOWN_KEY] = f"包含表单中没有的字段：{shown}"
    cleaned: dict[str, Any] = {}
    for field in form.fields:
        value = _present(data.get(field.name))
        if value is None:
            condition = field.required_if
            if field.required or (condition is not None and condition.field in cleaned
                                  and cleaned[condition.field] == condition.equals):
                errors[field.name] = REQUIRED_MESSAGE
            else:
                cleaned[field.name] = [] if field.type == "multichoice" else None
            continue
        try:
            cleaned[field.name] = _CLEANERS[field.type](field, value)
        except _Invalid as error:
            errors[field.name] = str(error)
    return cleaned, errors


def _present(value: Any) -> Any:
    """The value with strings stripped, or ``None`` when it is absent, blank or empty."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, (list, tuple)):
        items = [item.strip() if isinstance(item, str) else item for item in value]
        return [item for item in items if item not in ("", None)] or None
    return value


def _clean_text(field: FieldDefinition, value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid("请输入文字")
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    limit = field.max_length or DEFAULT_MAX_LENGTH[field.type]
    if len(text) > limit:
        raise _Invalid(f"不能超过{limit}个字符（当前{len(text)}个）")
    if field.type == "text" and "\n" in text:
        raise _Invalid("不能包含换行")
    if any(unicodedata.category(char) in ("Cc", "Cs") and char not in "\n\t" for char in text):
        raise _Invalid("包含不允许的控制字符")
    return text


def _clean_boolean(field: FieldDefinition, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise _Invalid("请选择“是”或“否”")


def _clean_choice(field: FieldDefinition, value: Any) -> str:
    if not isinstance(value, str) or value not in dict(field.choices):
        raise _Invalid("请从列表中选择有效的选项")
    return value


def _clean_multichoice(field: FieldDefinition, value: Any) -> list[str]:
    values = [value] if isinstance(value, str) else value
    allowed = dict(field.choices)
    if not isinstance(values, list) or not all(isinstance(item, str) and item in allowed
                                               for item in values):
        raise _Invalid("请从列表中选择有效的选项")
    return [choice for choice, _ in field.choices if choice in values]


def _clean_integer(field: FieldDefinition, value: Any) -> int:
    match = _INTEGER.fullmatch(value) if isinstance(value, str) else None
    if match:
        sign = -1 if match.group(1) == "-" else 1
        digits = match.group(2).lstrip("0")
        number = sign * (INTEGER_LIMIT + 1) if len(digits) > 19 else int(value)
    elif _is_int(value):
        number = value
    else:
        raise _Invalid("请输入整数")
    low = -INTEGER_LIMIT if field.min is None else field.min
    high = INTEGER_LIMIT if field.max is None else field.max
    if number < low:
        raise _Invalid(f"不能小于{low}")
    if number > high:
        raise _Invalid(f"不能大于{high}")
    return number


def _clean_date(field: FieldDefinition, value: Any) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    try:
        if isinstance(value, str) and _DATE.fullmatch(value):
            return date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise _Invalid("请输入有效的日期，格式为YYYY-MM-DD")


def _clean_datetime(field: FieldDefinition, value: Any) -> str:
    moment = value if isinstance(value, datetime) else None
    if isinstance(value, str) and _DATETIME.fullmatch(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
    if moment is None:
        raise _Invalid("请输入有效的时间，格式如2025-01-02T09:30+08:00")
    if moment.utcoffset() is None:
        raise _Invalid("时间须带时区，如+08:00")
    try:
        return moment.astimezone(SHANGHAI).isoformat()
    except (OverflowError, ValueError):
        raise _Invalid("时间超出可用范围") from None


_CLEANERS: dict[str, Callable[[FieldDefinition, Any], Any]] = {
    "text": _clean_text, "textarea": _clean_text, "boolean": _clean_boolean,
    "choice": _clean_choice, "multichoice": _clean_multichoice, "integer": _clean_integer,
    "date": _clean_date, "datetime": _clean_datetime,
}
