"""A case's history (case_event rows) as a timeline: each event with its Chinese name, who
did it, and its data as labelled lines — form values under the labels and choice names of
the form definitions of the case's process version. Values are plain text (the page
escapes them); nothing of the evaluator is in the history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.forms import FormDefinition

from ..models import Case, CaseEvent, CaseOutcome, Level, Role, User
from ..templating import local_time
from .case_labels import clock_label, event_label
from .engine_runtime import forms_of

ACTORS = {"system": "系统", "timer": "定时器"}
TIMER_KINDS = {"warning": "预警", "deadline": "期限", "planned": "计划期限", "other": "定时"}


@dataclass
class TimelineEntry:
    seq: int
    at: datetime
    event: str
    label: str
    actor: str
    details: list[tuple[str, str]] = field(default_factory=list)


def _time(value: Any) -> str:
    if not value:
        return "—"
    try:
        return local_time(datetime.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _yes_no(value: Any) -> str:
    return "是" if value else "否"


def _form_lines(form: FormDefinition | None, values: dict[str, Any]) -> list[tuple[str, str]]:
    """Form values under their labels, in the form's field order; unknown keys as they are."""
    fields = {f.name: f for f in form.fields} if form else {}
    order = [f.name for f in form.fields if f.name in values] if form else []
    order += [key for key in values if key not in fields]
    lines = []
    for name in order:
        value, definition = values[name], fields.get(name)
        if value is None or value == [] or value == "":
            continue
        if definition is None:
            lines.append((name, str(value)))
            continue
        choices = dict(definition.choices)
        if definition.type == "boolean":
            text = _yes_no(value)
        elif definition.type == "multichoice" and isinstance(value, list):
            text = "、".join(choices.get(v, str(v)) for v in value)
        elif definition.type == "choice":
            text = choices.get(str(value), str(value))
        elif definition.type == "datetime":
            text = _time(value)
        else:
            text = str(value)
        lines.append((definition.label, text))
    return lines


class _Describer:
    def __init__(self, forms: dict[str, FormDefinition], names: dict[int, str], tasks: dict[str, str]) -> None:
        self.forms, self.names, self.tasks = forms, names, tasks

    def user(self, user_id: Any) -> str:
        return self.names.get(user_id, "—") if isinstance(user_id, int) else "—"

    def task(self, data: dict[str, Any]) -> str:
        bpmn_id = str(data.get("task", ""))
        return str(data.get("name") or self.tasks.get(bpmn_id, bpmn_id))

    def lines(self, event: CaseEvent) -> list[tuple[str, str]]:
        data, kind = event.data or {}, event.event
        if kind == "case_opened":
            level = data.get("level")
            lines = [("评价等级", Level(level).label if level in {lv.value for lv in Level} else str(level)),
                     ("实名评价", _yes_no(data.get("real_name"))), ("受理时间", _time(data.get("received_at")))]
            return lines + ([("期限", "暂定（缺少节假日数据）")] if data.get("deadlines_provisional") else [])
        if kind == "instance_started":
            return [("流程版本", f"第 {data.get('version')} 版")]
        if kind == "task_opened":
            role = data.get("role")
            lines = [("任务", self.task(data)),
                     ("办理角色", Role(role).label if role in {r.value for r in Role} else "—")]
            return lines + ([("办理期限", _time(data["due_at"]))] if data.get("due_at") else [])
        if kind in ("task_claimed", "task_cancelled"):
            return [("任务", self.task(data))]
        if kind == "task_unclaimed":
            return [("任务", self.task(data)), ("原认领人", self.user(data.get("claimed_by")))]
        if kind == "task_reassigned":
            return [("任务", self.task(data)), ("原认领人", self.user(data.get("from"))),
                    ("转派给", self.user(data.get("to")))]
        if "values" in data and "task" in data:  # a completed task and its form
            values = data.get("values") or {}
            return [("任务", self.task(data))] + _form_lines(self.forms.get(str(data.get("form"))), values)
        if kind in ("deadline_warned", "deadline_missed", "case_escalated", "timer_fired"):
            lines = [("时限", clock_label(data.get("clock"))), ("到期时间", _time(data.get("due_at")))]
            return lines + ([("上报", "效能监督")] if kind == "case_escalated" else [])
        if kind == "deadline_recomputed":
            return [("时限", clock_label(data.get("clock"))), ("类型", TIMER_KINDS.get(str(data.get("kind")), "—")),
                    ("原期限", _time(data.get("old"))), ("新期限", _time(data.get("new"))),
                    ("暂定", _yes_no(data.get("provisional")))]
        if kind in ("deadlines_confirmed", "deadlines_marked_provisional"):
            return [("联系期限", _time(data.get("contact_due_at"))), ("整改期限", _time(data.get("rectify_due_at")))]
        if kind == "case_closed":
            outcome = data.get("outcome")
            label = CaseOutcome(outcome).label if outcome in {o.value for o in CaseOutcome} else "—"
            return [("办结结果", label), ("不计入统计", _yes_no(data.get("excluded")))]
        if kind == "case_urged":
            return [("督办意见", str(data.get("message", "")))]
        if kind == "instance_errored":
            return [("说明", "流程执行出错，已通知管理员处理")]
        if kind == "evidence_attached":
            return [("文件", str(data.get("filename", ""))), ("大小", f"{data.get('size', 0)} 字节")]
        if kind == "comment_added":
            return []
        return [(str(key), str(value)) for key, value in data.items()]


def timeline(session: Session, case: Case) -> list[TimelineEntry]:
    events = list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                  .order_by(CaseEvent.seq)))
    user_ids: set[int] = {e.actor_id for e in events if e.actor_id is not None}
    for e in events:
        user_ids |= {v for k, v in (e.data or {}).items() if k in ("claimed_by", "from", "to") and isinstance(v, int)}
    names = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids)))
                 .all()) if user_ids else {}
    tasks = {str(e.data.get("task")): str(e.data.get("name")) for e in events
             if e.event == "task_opened" and e.data.get("name")}
    forms = forms_of(case.instance.deployment) if case.instance is not None else {}
    describer = _Describer(forms, names, tasks)
    return [TimelineEntry(seq=e.seq, at=e.occurred_at, event=e.event, label=event_label(e.event),
                          actor=names.get(e.actor_id, e.actor) if e.actor_id else ACTORS.get(e.actor, e.actor),
                          details=describer.lines(e)) for e in events]
