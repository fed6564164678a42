"""Validation of one BPMN file against the engine's contract (bpmn/README.md).

Used by ``hcp bpmn validate`` and by the process designer on every save and upload. Every
problem names the rule, the element it concerns (so the editor can mark it) and says in
Chinese what is wrong. The checks, in order:

* size: the file is not larger than :data:`MAX_BPMN_BYTES`;
* xml: well-formed, parsed without DTDs or entities (XXE and entity expansion are refused
  before anything else looks at the file), root ``bpmn:definitions``;
* schema: BPMN 2.0 (with SpiffWorkflow's extension schema);
* id: ids are unique, and no process id is already used by another file of the bundle;
* call: every call activity names a process of the bundle;
* parse: SpiffWorkflow parses every executable process (only once the above hold);
* lane, form, stage, timer, script: the contract rules in :mod:`workflows.validation_rules`.

Pure: no database, no web framework. The caller supplies the contract (form definitions,
case stages, the other files of the bundle).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from .engine import LANE_ROLES
from .forms import FormDefinition
from .specs import BpmnFileError, parse_xml_safely

MAX_BPMN_BYTES = 2 * 1024 * 1024
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

RULES: Mapping[str, str] = {
    "size": "文件大小", "xml": "XML 格式与安全", "schema": "BPMN 2.0 模式", "id": "标识唯一",
    "call": "调用的流程", "parse": "引擎解析", "lane": "泳道与角色", "form": "表单",
    "stage": "阶段", "timer": "定时器", "script": "脚本与条件",
}


@dataclass(frozen=True)
class Problem:
    rule: str  # a key of RULES
    message: str  # Chinese, for the designer
    element_id: str | None = None
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        where = f"第{self.line}行 " if self.line else ""
        element = f"{self.element_id}：" if self.element_id else ""
        return f"{where}[{RULES.get(self.rule, self.rule)}] {element}{self.message}"


@dataclass(frozen=True)
class Contract:
    """What a file may rely on: the bundle's forms, the case stages, lanes and other files."""

    forms: Mapping[str, FormDefinition]
    stages: frozenset[str]
    other_files: Mapping[str, str] = field(default_factory=dict)  # file name -> XML (the rest of the bundle)
    lane_roles: Mapping[str, str] = field(default_factory=lambda: dict(LANE_ROLES))


_VIOLATIONS = (  # the restricted environment's messages (workflows.scripting), in Chinese
    (re.compile(r"^Line (\d+): "), r"第\1行："),
    (re.compile(r"import statements are not allowed"), "不允许 import 语句"),
    (re.compile(r"class definitions are not allowed"), "不允许定义类"),
    (re.compile(r"unknown name '([^']*)' \(not a process variable, helper or allowed builtin\)"),
     r"未知名称 \1（不是流程变量、辅助函数或允许的内置函数）"),
    (re.compile(r"assigning or deleting attribute '([^']*)' is not allowed"), r"不允许给属性 \1 赋值或删除它"),
    (re.compile(r"attribute '([^']*)' is not allowed"), r"不允许访问属性 \1"),
    (re.compile(r"name '([^']*)' is not allowed"), r"不允许使用名称 \1"),
    (re.compile(r"variable '([^']*)' shadows the helper .*"), r"变量 \1 与辅助函数同名，请换一个名称"),
)


def in_chinese(violation: str) -> str:
    """A violation reported by the restricted environment's checks, in Chinese where known."""
    for pattern, replacement in _VIOLATIONS:
        violation = pattern.sub(replacement, violation)
    return violation


def process_ids(tree: etree._ElementTree) -> list[str]:
    return [p.get("id", "") for p in tree.getroot().iterfind("bpmn:process", NS)]


def validate_bpmn(content: bytes | str, filename: str, contract: Contract) -> list[Problem]:
    """Every problem of the file; [] when the file may be deployed."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    if len(data) > MAX_BPMN_BYTES:
        return [Problem("size", f"文件大小 {len(data)} 字节，超过上限 {MAX_BPMN_BYTES} 字节")]
    if _DOCTYPE.search(data[:65536]):
        return [_xml_problem("DOCTYPE")]
    try:
        tree = parse_xml_safely(data, filename)
    except BpmnFileError as error:
        return [_xml_problem(str(error))]
    root = tree.getroot()
    if root.tag != f"{{{BPMN_NS}}}definitions":
        return [Problem("xml", f"根元素必须是 bpmn:definitions（BPMN 2.0 命名空间 {BPMN_NS}），"
                               f"而不是 {root.tag}", line=root.sourceline)]
    from .validation_rules import check_contract  # the contract rules build on this module

    problems = _schema_problems(tree)
    problems += _id_problems(tree, contract)
    problems += _call_problems(tree, contract)
    problems += check_contract(tree, contract)
    if not problems:
        problems += _parse_problems(tree, filename, contract)
    return problems


_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _xml_problem(message: str) -> Problem:
    if "DOCTYPE" in message or "entity" in message.lower():
        return Problem("xml", "文件含有 DOCTYPE：BPMN 文件不允许 DTD 或实体声明"
                              "（可用于读取服务器文件的 XXE 攻击或实体膨胀攻击），已拒绝")
    detail = message.split(": ", 1)[1] if ": " in message else message
    line = None
    if detail.startswith("line "):
        number, _, detail = detail[5:].partition(": ")
        line = int(number) if number.isdigit() else None
    return Problem("xml", f"不是格式正确的 XML：{detail.removeprefix('not well-formed XML: ')}", line=line)


_SCHEMA_LOCK = threading.Lock()  # one XMLSchema object, whose error log is per validation


def _schema_problems(tree: etree._ElementTree) -> list[Problem]:
    with _SCHEMA_LOCK:
        valid = VALIDATOR.validator.validate(tree)
        errors = [(error.line, error.message) for error in VALIDATOR.validator.error_log]
    if valid:
        return []
    problems = []
    for line, message in errors:
        if "'xs:ID'" in message:
            continue  # a duplicate id: reported by the id rule, in plain words
        text = message.replace(f"{{{BPMN_NS}}}", "bpmn:").replace(f"{{{SPIFF_NS}}}", "spiffworkflow:")
        problems.append(Problem("schema", f"不符合 BPMN 2.0 模式：{text}",
                                element_id=_element_at(tree, line), line=line))
    return problems


def _element_at(tree: etree._ElementTree, line: int) -> str | None:
    """The id of the element starting on ``line``, or of its nearest ancestor with an id."""
    for element in tree.iter():
        if isinstance(element.tag, str) and element.sourceline == line:
            while element is not None and element.get("id") is None:
                element = element.getparent()
            return element.get("id") if element is not None else None
    return None


def _id_problems(tree: etree._ElementTree, contract: Contract) -> list[Problem]:
    seen: dict[str, int] = {}
    problems = []
    for element in tree.iter():
        if not isinstance(element.tag, str) or element.get("id") is None:
            continue
        ident = element.get("id")
        if ident in seen:
            problems.append(Problem("id", f"标识“{ident}”重复（第{seen[ident]}行已使用）",
                                    element_id=ident, line=element.sourceline))
        else:
            seen[ident] = element.sourceline
    others = _other_process_ids(contract)
    for process in tree.getroot().iterfind("bpmn:process", NS):
        owner = others.get(process.get("id", ""))
        if owner:
            problems.append(Problem("id", f"流程标识“{process.get('id')}”已在 {owner} 中使用",
                                    element_id=process.get("id"), line=process.sourceline))
    return problems


def _other_process_ids(contract: Contract) -> dict[str, str]:
    owners: dict[str, str] = {}
    for name, xml in contract.other_files.items():
        try:
            for ident in process_ids(parse_xml_safely(xml, name)):
                owners[ident] = name
        except BpmnFileError:
            continue  # another file's problem, reported when that file is validated
    return owners


def _call_problems(tree: etree._ElementTree, contract: Contract) -> list[Problem]:
    known = set(process_ids(tree)) | set(_other_process_ids(contract))
    problems = []
    for call in tree.getroot().iterfind(".//bpmn:callActivity", NS):
        called = (call.get("calledElement") or "").strip()
        if not called:
            problems.append(Problem("call", "调用活动没有指定被调用的流程（calledElement）",
                                    element_id=call.get("id"), line=call.sourceline))
        elif called not in known:
            problems.append(Problem("call", f"调用的流程“{called}”不存在（现有：{'、'.join(sorted(known))}）",
                                    element_id=call.get("id"), line=call.sourceline))
    return problems


def _parse_problems(tree: etree._ElementTree, filename: str, contract: Contract) -> list[Problem]:
    parser = SpiffBpmnParser()
    try:
        for name, xml in sorted(contract.other_files.items()):
            parser.add_bpmn_xml(parse_xml_safely(xml, name), filename=name)
        parser.add_bpmn_xml(tree, filename=filename)
        for process in tree.getroot().iterfind("bpmn:process", NS):
            if process.get("isExecutable", "true").lower() == "false":
                continue
            parser.get_spec(process.get("id"))
            parser.get_subprocess_specs(process.get("id"))
    except ValidationException as error:
        line = error.line_number if isinstance(error.line_number, int) else None
        return [Problem("parse", f"流程引擎无法解析：{error}", element_id=error.id or None, line=line)]
    except BpmnFileError as error:  # another file of the bundle
        return [Problem("parse", f"流程包中的其他文件无法读取：{error}")]
    except Exception as error:  # SpiffWorkflow raises plain errors for some malformed models
        return [Problem("parse", f"流程引擎无法解析：{type(error).__name__}: {error}")]
    return []
