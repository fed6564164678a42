"""What the administration pages (users, departments, service items) share: a field
error, search and pagination."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from .request_values import whole_number

T = TypeVar("T")
PER_PAGE = 50
MAX_QUERY_LENGTH = 64


class FieldError(ValueError):
    """Invalid input; ``field`` names the form field it belongs to."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ListQuery:
    q: str = ""
    page: int = 1

    @classmethod
    def parse(cls, args: Mapping[str, Any]) -> ListQuery:
        """Lenient: a bad page number shows the first page, an overlong search is cut."""
        raw = str(args.get("page") or "1")
        page = whole_number(raw, 999_999) or 1
        return cls(str(args.get("q") or "").strip()[:MAX_QUERY_LENGTH], page)

    @property
    def pattern(self) -> str:
        """The search as a LIKE pattern (its own % and _ taken literally)."""
        escaped = self.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"%{escaped}%"


@dataclass
class Page(Generic[T]):
    rows: list[T]
    total: int
    page: int
    pages: int


def paginate(session: Session, statement: Select[tuple[T]], page: int, per_page: int = PER_PAGE) -> Page[T]:
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(page, pages)
    rows = list(session.scalars(statement.limit(per_page).offset((page - 1) * per_page)))
    return Page(rows, total, page, pages)
