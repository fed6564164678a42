"""Column types of the application: encrypted personal data, enums by value with labels.
(UTC timestamps come from ``workflows.persistence``.)"""

from __future__ import annotations

import enum
from sqlalchemy import Enum, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from .. import privacy


class EncryptedText(TypeDecorator[str]):
    """Personal data encrypted with the application's data keys (DESIGN.md §7)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else privacy.cipher().encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else privacy.cipher().decrypt(value)


class LabelledEnum(enum.Enum):
    """An enum whose members carry a Chinese label: ``Member = ("value", "标签")``."""

    label: str

    def __new__(cls, value: str, label: str) -> LabelledEnum:
        member = object.__new__(cls)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def from_label(cls, label: str) -> LabelledEnum:
        for member in cls:
            if member.label == label:
                return member
        raise ValueError(f"{label!r} is not a {cls.__name__}")


def enum_type(enum_class: type[enum.Enum], name: str) -> Enum:
    """Store an enum as its value in a VARCHAR with a CHECK constraint on both databases."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [str(m.value) for m in members],
        validate_strings=True,
    )
