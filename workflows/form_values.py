"""What a form accepts: :func:`validate_submission`, the single source of truth for the web
form (``app.forms.dynamic``) and the JSON task API.

Rules:

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

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from calendars import SHANGHAI

from .forms import DEFAULT_MAX_LENGTH, INTEGER_LIMIT, FieldDefinition, FormDefinition, is_int

UNKNOWN_KEY = "_unknown"
REQUIRED_MESSAGE = "此项为必填项"
_TRUE = frozenset({"true", "on", "yes", "1"})
_FALSE = frozenset({"false", "off", "no", "0"})
_INTEGER = re.compile(r"([+-]?)([0-9]+)")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}.*")


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
    elif is_int(value):
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
