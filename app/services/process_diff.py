"""What changed in a process file between two versions (or a draft and the version it came
from): elements added, removed and changed, from SpiffWorkflow's spec diff
(``SpiffWorkflow.bpmn.util.diff.SpecDiff``) over the parsed processes and their embedded
subprocesses; the page draws both diagrams with the elements marked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.util.diff import SpecDiff

from sqlalchemy.orm import Session

from workflows.migration import REGISTRY, attribute_labels
from workflows.specs import BpmnFileError, ProcessSpecs, parse_process, parse_xml_safely
from workflows.tables import Deployment
from workflows.validation import NS

from ..models import ProcessDraft
from .engine_runtime import SPECS
from .process_drafts import bundle_for

KIND_LABELS = {
    "UserTask": "用户任务", "ScriptTask": "脚本任务", "ManualTask": "人工任务", "NoneTask": "任务",
    "ServiceTask": "服务任务", "CallActivity": "调用活动", "SubWorkflowTask": "子流程",
    "TransactionSubprocess": "事务子流程", "ExclusiveGateway": "排他网关", "ParallelGateway": "并行网关",
    "InclusiveGateway": "包容网关", "EventBasedGateway": "事件网关", "StartEvent": "开始事件",
    "EndEvent": "结束事件", "BoundaryEvent": "边界事件", "IntermediateCatchEvent": "中间捕获事件",
    "IntermediateThrowEvent": "中间抛出事件",
}


@dataclass(frozen=True)
class ElementChange:
    bpmn_id: str
    name: str
    kind: str
    changes: str = ""


@dataclass
class FileDiff:
    file_name: str
    old_label: str
    new_label: str
    old_xml: str
    new_xml: str
    added: list[ElementChange] = field(default_factory=list)
    removed: list[ElementChange] = field(default_factory=list)
    changed: list[ElementChange] = field(default_factory=list)
    error: str | None = None

    @property
    def markers(self) -> dict[str, list[str]]:
        return {"added": [e.bpmn_id for e in self.added], "removed": [e.bpmn_id for e in self.removed],
                "changed": [e.bpmn_id for e in self.changed]}


SpecsOf = Callable[[str], ProcessSpecs]


def diff_file(file_name: str, old_xml: str, new_xml: str, old_specs: SpecsOf, new_specs: SpecsOf,
              old_label: str, new_label: str) -> FileDiff:
    """``old_specs`` / ``new_specs`` give the parsed specs of a process id in each bundle."""
    result = FileDiff(file_name, old_label, new_label, old_xml, new_xml)
    try:
        old_ids, new_ids = _processes(old_xml, file_name), _processes(new_xml, file_name)
        pairs: list[tuple[Any, Any]] = []
        for process_id in sorted(set(old_ids) | set(new_ids)):
            old = old_specs(process_id) if process_id in old_ids else None
            new = new_specs(process_id) if process_id in new_ids else None
            pairs.append((old and old.spec, new and new.spec))
            subprocesses = _subprocess_ids(old_xml) | _subprocess_ids(new_xml)
            for name in sorted(subprocesses):
                pairs.append((old.subprocess_specs.get(name) if old else None,
                              new.subprocess_specs.get(name) if new else None))
    except BpmnFileError as error:
        result.error = f"无法解析，不能比较：{error}"
        return result
    seen: set[str] = set()
    for old_spec, new_spec in pairs:
        _compare(old_spec, new_spec, result, seen)
    return result


def _compare(old: Any, new: Any, result: FileDiff, seen: set[str]) -> None:
    if old is None and new is None:
        return
    if old is None or new is None:
        target = result.added if old is None else result.removed
        for spec in (new or old).task_specs.values():
            _add(target, spec, seen)
        return
    diff = SpecDiff(REGISTRY, old, new)
    for spec in diff.added:
        _add(result.added, spec, seen)
    for spec in diff.removed:
        _add(result.removed, spec, seen)
    for spec, changes in diff.changed.items():
        _add(result.changed, spec, seen, attribute_labels(changes), diff.alignment.get(spec))


def _add(target: list[ElementChange], spec: Any, seen: set[str], changes: str = "", new: Any = None) -> None:
    bpmn_id = getattr(spec, "bpmn_id", None)
    if not bpmn_id or bpmn_id in seen:
        return  # SpiffWorkflow's own joins, splits, start and end specs
    seen.add(bpmn_id)
    kind = KIND_LABELS.get(type(spec).__name__, type(spec).__name__)
    name = getattr(spec, "bpmn_name", None) or ""
    new_name = getattr(new, "bpmn_name", None) or "" if new is not None else name
    target.append(ElementChange(bpmn_id, name if new_name == name else f"{name} → {new_name}", kind, changes))


def _processes(xml: str, file_name: str) -> list[str]:
    root = parse_xml_safely(xml, file_name).getroot()
    return [p.get("id", "") for p in root.iterfind("bpmn:process", NS)
            if p.get("isExecutable", "true").lower() != "false"]


def _subprocess_ids(xml: str) -> set[str]:
    root = parse_xml_safely(xml, "diff").getroot()
    return {e.get("id", "") for tag in ("subProcess", "transaction", "adHocSubProcess")
            for e in root.iterfind(f".//bpmn:{tag}", NS)}


class DiffError(LookupError):
    """The versions or file to compare do not exist."""


def _deployed(deployment: Deployment) -> SpecsOf:
    return lambda process_id: SPECS.get(deployment.id, lambda: deployment.bpmn_files, process_id, deployment.sha256)


def diff_versions(session: Session, file_name: str, old: Deployment, new: Deployment) -> FileDiff:
    old_xml, new_xml = old.bpmn_files.get(file_name), new.bpmn_files.get(file_name)
    if old_xml is None and new_xml is None:
        raise DiffError(f"版本 {old.version} 和 {new.version} 中都没有 {file_name}")
    return diff_file(file_name, old_xml or _EMPTY, new_xml or _EMPTY, _deployed(old), _deployed(new),
                     f"版本 {old.version}", f"版本 {new.version}")


def diff_draft(session: Session, draft: ProcessDraft) -> FileDiff:
    """The draft against the newest deployed version it would replace."""
    bundle = bundle_for(session, draft)
    newest = bundle.base
    return diff_file(draft.file_name, newest.bpmn_files.get(draft.file_name, _EMPTY), draft.bpmn_xml,
                     _deployed(newest), lambda pid: parse_process(bundle.bpmn_files, pid),
                     f"版本 {newest.version}", f"草稿 {draft.id}")


_EMPTY = ('<?xml version="1.0" encoding="UTF-8"?>'
          '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="empty" '
          'targetNamespace="http://bpmn.io/schema/bpmn"/>')
