"""The engine's contract rules for one BPMN file (bpmn/README.md): user tasks sit in a lane
that is a role and name a form and a stage; timers say their kind and clock and their
expression evaluates, with sample process data, to a time with an offset; scripts and
conditions pass the restricted environment's checks."""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from .clock import current_clock
from .forms import FormDefinition
from .script_helpers import HELPERS
from .scripting import RestrictedEnvironment, check_expression, check_script
from .specs import BpmnFileError, parse_xml_safely
from .validation import NS, Contract, Problem, in_chinese

TIMER_KINDS = ("warning", "deadline", "other")
CLOCKS = ("triage", "contact", "rectify", "close")
# Variables the case service starts a process with, and those the processes keep
# (bpmn/README.md), with the sample values a timer expression is evaluated on.
START_VARIABLES = ("case_no", "department_id", "real_name", "level", "received_at")
PROCESS_VARIABLES = ("contact_from", "rectify_from", "rectify_days", "rectify_days_left", "is_complex",
                     "complex_reason", "reopen_count", "appeal_upheld", "outcome")
_SAMPLE_FIELD = {"text": "示例", "textarea": "示例", "boolean": False, "integer": 1, "multichoice": [],
                 "date": "2026-10-09", "datetime": "2026-10-09T10:00:00+08:00"}


def sample_data(forms: dict[str, FormDefinition] | Any) -> dict[str, Any]:
    """Process data as a case has it midway: form fields, then the documented variables."""
    received = current_clock().now().isoformat(timespec="seconds")
    data: dict[str, Any] = {}
    for form in forms.values():
        for item in form.fields:
            data[item.name] = item.choices[0][0] if item.choices and item.type == "choice" \
                else _SAMPLE_FIELD.get(item.type, "示例")
    data.update(case_no="CP20260000001", department_id=1, real_name=True, level="dissatisfied",
                received_at=received, contact_from=received, rectify_from=received, rectify_days=5,
                rectify_days_left=3, is_complex=False, complex_reason="", reopen_count=0,
                appeal_upheld=False, outcome=None)
    return data


def check_contract(tree: etree._ElementTree, contract: Contract) -> list[Problem]:
    known = _known_names(tree, contract)
    sample = sample_data(contract.forms)
    return (_user_task_problems(tree, contract)
            + _timer_problems(tree, known, sample) + _script_problems(tree, known))


def properties(element: etree._Element) -> dict[str, str]:
    found = element.findall("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)
    return {p.get("name", ""): p.get("value", "") for p in found}


def _problem(rule: str, message: str, element: etree._Element) -> Problem:
    return Problem(rule, message, element_id=element.get("id"), line=element.sourceline)


def _lanes(tree: etree._ElementTree) -> dict[str, str]:
    """Flow node id -> name of the innermost lane holding it."""
    lanes: dict[str, str] = {}
    for lane in tree.getroot().iterfind(".//bpmn:lane", NS):  # document order: inner lanes come later
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            lanes[(ref.text or "").strip()] = (lane.get("name") or "").strip()
    return lanes


def _lane_of(task: etree._Element, lanes: dict[str, str]) -> str | None:
    """The task's lane; a task inside a subprocess has the subprocess's lane (as in SpiffWorkflow)."""
    element: etree._Element | None = task
    while element is not None:
        lane = lanes.get(element.get("id", ""))
        if lane is not None:
            return lane
        element = element.getparent()
        if element is not None and etree.QName(element).localname == "process":
            return None
    return None


def _user_task_problems(tree: etree._ElementTree, contract: Contract) -> list[Problem]:
    lanes = _lanes(tree)
    problems = []
    for task in tree.getroot().iterfind(".//bpmn:userTask", NS):
        lane = _lane_of(task, lanes)
        if lane is None:
            problems.append(_problem("lane", "用户任务不在任何泳道中：请放入表示办理角色的泳道", task))
        elif lane not in contract.lane_roles:
            problems.append(_problem("lane", f"用户任务所在泳道“{lane}”不对应任何角色", task))
        props = properties(task)
        form = props.get("form", "").strip()
        if not form:
            problems.append(_problem("form", "用户任务缺少 form 属性（表单名称）", task))
        elif form not in contract.forms:
            problems.append(_problem("form", f"表单“{form}”不存在（现有：{'、'.join(sorted(contract.forms))}）", task))
        stage = props.get("stage", "").strip()
        if not stage:
            problems.append(_problem("stage", "用户任务缺少 stage 属性（案件阶段）", task))
        elif stage not in contract.stages:
            problems.append(_problem("stage", f"阶段“{stage}”无效（可用：{'、'.join(sorted(contract.stages))}）", task))
    return problems


def _timer_problems(tree: etree._ElementTree, known: set[str], sample: dict[str, Any]) -> list[Problem]:
    problems = []
    for definition in tree.getroot().iterfind(".//bpmn:timerEventDefinition", NS):
        event = definition.getparent()
        props = properties(event)
        kind, clock = props.get("timerKind", "").strip(), props.get("clock", "").strip()
        if kind not in TIMER_KINDS:
            problems.append(_problem("timer", f"定时器的 timerKind 属性须为 {'、'.join(TIMER_KINDS)} 之一"
                                              f"（现为“{kind}”）", event))
        if kind in ("warning", "deadline") and clock not in CLOCKS:
            problems.append(_problem("timer", f"预警或期限定时器的 clock 属性须为 {'、'.join(CLOCKS)} 之一"
                                              f"（现为“{clock}”）", event))
        if (kind in ("warning", "deadline") and event.tag == f"{{{NS['bpmn']}}}boundaryEvent"
                and event.get("cancelActivity", "true") != "false"):
            problems.append(_problem("timer", "预警和期限的边界定时器必须是非中断的（cancelActivity=\"false\"）："
                                              "期限已过，案件仍继续办理", event))
        problems += _timer_expression_problems(definition, event, known, sample)
    return problems


def _timer_expression_problems(definition: etree._Element, event: etree._Element, known: set[str],
                               sample: dict[str, Any]) -> list[Problem]:
    holders = [child for child in definition if isinstance(child.tag, str)
               and etree.QName(child).localname in ("timeDate", "timeDuration", "timeCycle")]
    if len(holders) != 1 or not (holders[0].text or "").strip():
        return [_problem("timer", "定时器须有且只有一个时间表达式（timeDate、timeDuration 或 timeCycle）", event)]
    kind, expression = etree.QName(holders[0]).localname, (holders[0].text or "").strip()
    violations = check_expression(expression, known)
    if violations:
        return [_problem("timer", f"定时器表达式“{expression}”不允许：{'；'.join(map(in_chinese, violations))}", event)]
    if "now" in _names(expression, "eval"):
        return [_problem("timer", "定时器表达式不得使用 now()：期限只能由流程数据算出"
                                  "（引擎会随数据和日历重新计算）", event)]
    try:
        value = RestrictedEnvironment().evaluate(expression, dict(sample))
    except NameError:
        return []  # a variable set only by a script or form of another process: no sample for it
    except Exception as error:
        return [_problem("timer", f"定时器表达式“{expression}”用示例数据求值失败：{type(error).__name__}: {error}", event)]
    reason = _timer_value_problem(kind, value)
    return [_problem("timer", f"定时器表达式“{expression}”用示例数据得到 {value!r}：{reason}", event)] if reason else []


def _timer_value_problem(kind: str, value: Any) -> str | None:
    if not isinstance(value, str):
        return "须为 ISO 8601 字符串"
    try:
        if kind == "timeDate":
            moment = datetime.fromisoformat(value)
            return None if moment.utcoffset() is not None else "时间须带时区偏移（如 +08:00），否则会按服务器时区理解"
        if kind == "timeDuration":
            TimerEventDefinition.parse_iso_duration(value)
        else:
            TimerEventDefinition.parse_iso_recurring_interval(value)
    except Exception:
        return {"timeDate": "不是 ISO 8601 时间", "timeDuration": "不是 ISO 8601 时长（如 P3D）"}.get(
            kind, "不是 ISO 8601 重复间隔（如 R3/PT1H）")
    return None


def _script_problems(tree: etree._ElementTree, known: set[str]) -> list[Problem]:
    problems = []
    for element, source, mode in _code_of(tree):
        violations = check_script(source, known) if mode == "exec" else check_expression(source, known)
        if violations:
            what = "脚本" if mode == "exec" else "条件"
            problems.append(_problem("script", f"{what}不允许：{'；'.join(map(in_chinese, violations))}", element))
    return problems


def _code_of(tree: etree._ElementTree) -> Iterator[tuple[etree._Element, str, str]]:
    """(element, source, mode) of every script, pre/post script and condition."""
    root = tree.getroot()
    for task in root.iterfind(".//bpmn:scriptTask", NS):
        script = task.find("bpmn:script", NS)
        yield task, (script.text or "") if script is not None else "", "exec"
    for tag in ("preScript", "postScript"):
        for script in root.iterfind(f".//spiffworkflow:{tag}", NS):
            holder = script.getparent().getparent()  # extensionElements -> the task
            yield holder, script.text or "", "exec"
    for flow in root.iterfind(".//bpmn:sequenceFlow", NS):
        condition = flow.find("bpmn:conditionExpression", NS)
        if condition is not None:
            yield flow, (condition.text or "").strip() or "None", "eval"


def _known_names(tree: etree._ElementTree, contract: Contract) -> set[str]:
    """Process variables: documented ones, form fields, and whatever any script of the
    bundle assigns."""
    known = set(START_VARIABLES) | set(PROCESS_VARIABLES)
    for form in contract.forms.values():
        known.update(form.field_names)
    trees = [tree]
    for name, xml in contract.other_files.items():
        try:
            trees.append(parse_xml_safely(xml, name))
        except BpmnFileError:
            continue
    for each in trees:
        for _, source, mode in _code_of(each):
            if mode == "exec":
                known.update(_assigned(source))
    return known - set(HELPERS)


def _assigned(source: str) -> set[str]:
    try:
        tree = ast.parse(textwrap.dedent(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}


def _names(source: str, mode: str) -> set[str]:
    try:
        tree = ast.parse(source.strip(), mode=mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
