"""What an inbox request asks for: tab, filters, sort and page, parsed from query
parameters (the page's URL, the task API, a saved filter) with an error naming each bad
field, and the choices the filter form offers."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.specs import read_bundle
from workflows.tables import Deployment

from ..models import CaseStage, Role, ServiceItem, User
from .engine_runtime import SPECS
from .request_values import DAY_RANGE_MESSAGE, day_in_range, whole_number

WORK_ROLES = (Role.HANDLER, Role.LEAD, Role.VERIFIER, Role.SUPERVISOR)
# tab -> (label, roles that have it)
TABS: dict[str, tuple[str, tuple[Role, ...]]] = {
    "mine": ("我的待办", WORK_ROLES),
    "department": ("本部门待认领", (Role.HANDLER, Role.LEAD)),
    "team": ("本部门全部待办", (Role.LEAD,)),
    "verify": ("待审核", (Role.VERIFIER,)),
    "supervise": ("督办待办", (Role.SUPERVISOR,)),
    "done": ("我已办结", WORK_ROLES),
}
DEPARTMENT_TABS = frozenset({"department", "team"})
# sort key -> label (the SQL for each is in app.services.inbox)
SORTS = {"deadline": "截止日期", "case": "工单号", "item": "服务事项", "level": "评价等级", "task": "任务",
         "created": "到达时间", "claimed": "认领人", "completed": "办结时间"}
PER_PAGE_CHOICES = (10, 25, 50, 100)
DATE_FIELDS = {"created": "任务到达", "deadline": "截止日期"}
MAX_PAGE = 100_000
STAGES = [stage for stage in CaseStage if stage not in (CaseStage.ROUTING, CaseStage.CLOSED)]
FIELD_LABELS = {"tab": "分类", "task": "任务", "stage": "阶段", "item": "服务事项", "overdue": "仅看逾期",
                "date_field": "日期类型", "date_from": "起始日期", "date_to": "结束日期", "sort": "排序",
                "dir": "排序方向", "page": "页码", "per_page": "每页条数"}
FILTER_FIELDS = ("task", "stage", "item", "overdue", "date_field", "date_from", "date_to", "sort", "dir",
                 "per_page")
_TRUE, _FALSE = ("1", "true", "on", "yes"), ("", "0", "false", "off", "no")


class InboxQueryError(ValueError):
    """Bad parameters: ``errors`` maps each field to a message that names it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class InboxQuery:
    tab: str = "mine"
    task: str | None = None
    stage: str | None = None
    item: int | None = None
    overdue: bool = False
    date_field: str = "created"
    date_from: date | None = None
    date_to: date | None = None
    sort: str = "deadline"
    dir: str = "asc"
    page: int = 1
    per_page: int = 25

    def params(self, **changes: Any) -> dict[str, str]:
        """As query parameters (defaults left out), with ``changes`` applied."""
        current, default = asdict(replace(self, **changes)), asdict(InboxQuery())
        return {key: _text(value) for key, value in current.items()
                if value != default[key] or (key == "tab" and value != "mine")}

    def filters(self) -> dict[str, str]:
        """The filter part (no tab, no page), as a saved filter keeps it."""
        return {key: value for key, value in self.params().items() if key in FILTER_FIELDS}

    @property
    def is_filtered(self) -> bool:
        return any((self.task, self.stage, self.item, self.overdue, self.date_from, self.date_to))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return value.isoformat() if isinstance(value, date) else str(value)


def tabs_for(user: User) -> list[tuple[str, str]]:
    """(tab, label) of the tabs ``user`` has, in display order."""
    result = []
    for tab, (label, roles) in TABS.items():
        if user.has_role(*roles) and (tab not in DEPARTMENT_TABS or user.department_id is not None):
            result.append((tab, label))
    return result


def parse_query(args: Mapping[str, Any], user: User, tasks: Collection[str] | None = None) -> InboxQuery:
    """An :class:`InboxQuery` from request parameters; :class:`InboxQueryError` lists every
    bad field. ``tasks``, when given, are the task ids there are. Unknown parameters are
    ignored."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}

    def text(name: str) -> str:
        raw = args.get(name)
        return "" if raw is None else str(raw).strip()

    def bad(name: str, reason: str) -> None:
        errors[name] = f"{FIELD_LABELS[name]}：{reason}"

    tab = text("tab") or "mine"
    if tab not in dict(tabs_for(user)):
        bad("tab", "无效的分类或无权查看" if tab in TABS else f"无效的值 {tab!r}")
    values["tab"] = tab
    if task := text("task"):
        if tasks is not None and task not in tasks:
            bad("task", f"没有编号为 {task[:64]!r} 的任务")
        values["task"] = task
    if stage := text("stage"):
        if stage not in {s.value for s in STAGES}:
            bad("stage", f"无效的阶段 {stage[:32]!r}")
        values["stage"] = stage
    if item := text("item"):
        values["item"] = _positive(item, "item", bad, 2**31 - 1)
    overdue = text("overdue").lower()
    if overdue not in _TRUE + _FALSE:
        bad("overdue", "须为 1 或 0")
    values["overdue"] = overdue in _TRUE
    date_field = text("date_field") or "created"
    if date_field not in DATE_FIELDS:
        bad("date_field", "须为 created（任务到达）或 deadline（截止日期）")
    values["date_field"] = date_field
    for name in ("date_from", "date_to"):
        if raw := text(name):
            try:
                values[name] = date.fromisoformat(raw) if len(raw) == 10 else None
            except ValueError:
                values[name] = None
            if values[name] is None:
                bad(name, f"须为 YYYY-MM-DD 格式的日期，收到 {raw[:20]!r}")
            elif not day_in_range(values[name]):
                bad(name, DAY_RANGE_MESSAGE)
                values[name] = None
    if values.get("date_from") and values.get("date_to") and values["date_from"] > values["date_to"]:
        bad("date_to", "不能早于起始日期")
    default_sort = "completed" if tab == "done" else "deadline"
    sort = text("sort") or default_sort
    if sort not in SORTS or (sort == "completed" and tab != "done"):
        bad("sort", f"不支持按 {sort[:20]!r} 排序")
    values["sort"] = sort
    direction = text("dir") or ("desc" if sort == "completed" else "asc")
    if direction not in ("asc", "desc"):
        bad("dir", "须为 asc 或 desc")
    values["dir"] = direction
    if page := text("page"):
        values["page"] = _positive(page, "page", bad, MAX_PAGE)
    if per_page := text("per_page"):
        number = _positive(per_page, "per_page", bad, max(PER_PAGE_CHOICES))
        if number is not None and number not in PER_PAGE_CHOICES:
            bad("per_page", f"须为 {'、'.join(map(str, PER_PAGE_CHOICES))} 之一")
        values["per_page"] = number
    if errors:
        raise InboxQueryError(errors)
    return InboxQuery(**{key: value for key, value in values.items() if value is not None})


def _positive(raw: str, name: str, bad: Any, limit: int) -> int | None:
    number = whole_number(raw, limit)
    if number is None:
        bad(name, f"须为 1 到 {limit} 之间的整数，收到 {raw[:20]!r}")
    return number


# --- what the filter form offers -----------------------------------------------------------
_TASKS: dict[int, list[tuple[str, str]]] = {}  # deployment id -> user tasks (never change)


def task_choices(session: Session) -> list[tuple[str, str]]:
    """(bpmn id, name) of the user tasks of the newest deployed process version; before the
    first deployment (a new installation, no case yet), those of the shipped files, which
    the first case deploys as version 1."""
    deployment = session.scalar(select(Deployment).order_by(Deployment.version.desc()).limit(1))
    if deployment is None:
        shipped = read_bundle()
        key, files, digest = 0, shipped.bpmn_files, shipped.sha256  # 0: no deployment row has it
    else:
        key, files, digest = deployment.id, deployment.bpmn_files, deployment.sha256
    choices = _TASKS.get(key) if deployment is not None else None
    if choices is None:
        specs = SPECS.get(key, lambda: files, "bad_review", digest)
        found: dict[str, str] = {}
        for spec in (specs.spec, *specs.subprocess_specs.values()):
            for task_spec in spec.task_specs.values():
                if getattr(task_spec, "manual", False):
                    found.setdefault(task_spec.bpmn_id, task_spec.bpmn_name or task_spec.bpmn_id)
        choices = list(found.items())
        if deployment is not None:
            choices = _TASKS.setdefault(deployment.id, choices)
    return choices


def item_choices(session: Session, user: User, limit: int = 500) -> list[tuple[int, str]]:
    """Service items to filter by: the user's department's, or all for those without one."""
    query = select(ServiceItem.id, ServiceItem.name).where(ServiceItem.active.is_(True))
    if user.department_id is not None and not user.has_role(Role.VERIFIER, Role.SUPERVISOR):
        query = query.where(ServiceItem.department_id == user.department_id)
    return [(row.id, row.name) for row in session.execute(query.order_by(ServiceItem.name).limit(limit))]
