"""Everything the inbox page shows in one call: the tab's rows (or the errors of a bad
filter), the filter form's choices, the saved filters and, for a department lead, whom a
task can be reassigned to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from ..models import SavedFilter, User
from .inbox import InboxPage, list_tasks, reassign_candidates
from .inbox_query import (DATE_FIELDS, PER_PAGE_CHOICES, SORTS, STAGES, InboxQuery, InboxQueryError,
                          item_choices, parse_query, tabs_for, task_choices)
from .saved_filters import visible_filters


@dataclass
class InboxScreen:
    user: User
    query: InboxQuery
    page: InboxPage | None  # None when the filters were refused
    errors: dict[str, str]
    raw: dict[str, str]  # what was asked, to fill the form again
    tabs: list[tuple[str, str]]
    tasks: list[tuple[str, str]]
    stages: list[tuple[str, str]]
    items: list[tuple[int, str]]
    saved: list[SavedFilter]
    candidates: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    sorts: dict[str, str] = field(default_factory=lambda: dict(SORTS))
    date_fields: dict[str, str] = field(default_factory=lambda: dict(DATE_FIELDS))
    per_page_choices: tuple[int, ...] = PER_PAGE_CHOICES

    def tab_params(self, tab: str) -> dict[str, str]:
        """Link to another tab, keeping the filters but not a sort that tab lacks, nor the page."""
        default = "completed" if tab == "done" else "deadline"
        keep_sort = self.query.sort != "completed" and tab != "done"
        return self.query.params(tab=tab, page=1, sort=self.query.sort if keep_sort else default,
                                 dir=self.query.dir if keep_sort else ("desc" if tab == "done" else "asc"))

    def sort_params(self, key: str) -> dict[str, str]:
        """Link of a column header: sort by it, or turn the direction round if it is the sort."""
        direction = ("desc" if self.query.dir == "asc" else "asc") if self.query.sort == key else "asc"
        return self.query.params(sort=key, dir=direction, page=1)


def inbox_screen(session: Session, user: User, args: Mapping[str, Any]) -> InboxScreen:
    tasks = task_choices(session)
    raw = {key: str(value) for key, value in args.items()}
    errors: dict[str, str] = {}
    try:
        query = parse_query(args, user, tasks={task for task, _ in tasks})
    except InboxQueryError as error:
        errors, query = error.errors, InboxQuery()
    page = list_tasks(session, user, query) if not errors else None
    candidates = reassign_candidates(session, user) if page and any(r.can_reassign for r in page.rows) else {}
    return InboxScreen(user=user, query=query, page=page, errors=errors, raw=raw, tabs=tabs_for(user),
                       tasks=tasks, stages=[(s.value, s.label) for s in STAGES],
                       items=item_choices(session, user), saved=visible_filters(session, user),
                       candidates=candidates)
