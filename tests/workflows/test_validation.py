"""Validation of BPMN files (issue 7): every rule, each on a file that breaks only it."""

from __future__ import annotations

import pytest

from workflows.validation import MAX_BPMN_BYTES, Problem, validate_bpmn

from .bpmn_samples import SHIPPED, sample, shipped_contract

XXE = """<?xml version="1.0"?>
<!DOCTYPE definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <bpmn:process id="demo" name="&xxe;" isExecutable="true" />
</bpmn:definitions>"""

BILLION_LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{i} "{("&lol;" if i == 1 else f"&lol{i - 1};") * 10}">' for i in range(1, 10))
                  + ']>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">'
                    '<bpmn:process id="demo" name="&lol9;" /></bpmn:definitions>')


def check(xml: str | bytes, name: str = "demo.bpmn") -> list[Problem]:
    return validate_bpmn(xml, name, shipped_contract(without=name))


def only(problems: list[Problem], rule: str) -> list[Problem]:
    assert problems, "expected a problem"
    assert {p.rule for p in problems} == {rule}, problems
    return problems


@pytest.mark.parametrize("name", ["bad_review.bpmn", "appeal.bpmn", "recheck.bpmn"])
def test_the_shipped_files_pass(name: str) -> None:
    assert check((SHIPPED / name).read_text(encoding="utf-8"), name) == []


def test_the_sample_passes() -> None:
    assert check(sample()) == []


def test_xxe_reading_etc_passwd_is_refused_without_reading_it() -> None:
    [problem] = only(check(XXE), "xml")
    assert "DOCTYPE" in problem.message and "XXE" in problem.message
    assert "root:" not in problem.message


def test_billion_laughs_is_refused() -> None:
    [problem] = only(check(BILLION_LAUGHS), "xml")
    assert "实体膨胀" in problem.message


def test_a_doctype_hidden_after_the_first_bytes_is_refused_by_the_parser_too() -> None:
    padded = '<?xml version="1.0"?>' + "<!--" + "x" * 70_000 + "-->" + XXE.split("\n", 1)[1]
    only(check(padded), "xml")


def test_an_oversized_file_is_refused_before_parsing() -> None:
    big = sample().replace("</bpmn:definitions>", "<!--" + "x" * MAX_BPMN_BYTES + "--></bpmn:definitions>")
    [problem] = only(check(big), "size")
    assert str(MAX_BPMN_BYTES) in problem.message


@pytest.mark.parametrize("content, words", [
    ("<bpmn:definitions", "不是格式正确的 XML"),
    ("", "不是格式正确的 XML"),
    (b"\xff\xfe\x00garbage", "不是格式正确的 XML"),
    ("<definitions/>", "根元素必须是 bpmn:definitions"),
])
def test_what_is_not_a_bpmn_document(content: str | bytes, words: str) -> None:
    [problem] = only(check(content), "xml")
    assert words in problem.message


def test_the_bpmn_schema_names_the_element_and_line() -> None:
    xml = sample(script="x = 1</bpmn:script><bpmn:unknownThing/><bpmn:script>")
    problems = only(check(xml), "schema")
    assert problems[0].element_id == "prepare" and problems[0].line
    assert "bpmn:unknownThing" in problems[0].message


def test_ids_are_unique() -> None:
    [problem] = only(check(sample(task_id="prepare", task_in_lane="prepare")), "id")
    assert problem.element_id == "prepare" and "重复" in problem.message


def test_a_process_id_of_another_file_is_refused() -> None:
    xml = sample().replace('processRef="demo"', 'processRef="recheck"').replace('id="demo"', 'id="recheck"')
    problems = check(xml)
    assert [(p.rule, p.element_id) for p in problems] == [("id", "recheck")]
    assert "recheck.bpmn" in problems[0].message


def test_called_processes_exist() -> None:
    [problem] = only(check(sample(called="appeals")), "call")
    assert problem.element_id == "call" and "appeals" in problem.message


def test_spiffworkflow_must_parse_it() -> None:
    # Schema-valid, but a sequence flow to an element that does not exist.
    xml = sample().replace('targetRef="gw" />', 'targetRef="nowhere" />')
    [problem] = only(check(xml), "parse")
    assert "流程引擎无法解析" in problem.message and problem.element_id == "work"


@pytest.mark.parametrize("lane, task_in_lane, words", [
    ("局长", "work", "泳道“局长”不对应任何角色"),
    ("部门经办人", "end", "不在任何泳道中"),
])
def test_every_user_task_has_a_lane_that_is_a_role(lane: str, task_in_lane: str, words: str) -> None:
    [problem] = only(check(sample(lane=lane, task_in_lane=task_in_lane)), "lane")
    assert problem.element_id == "work" and words in problem.message


def test_a_user_task_inside_a_subprocess_has_the_subprocess_lane() -> None:
    assert check((SHIPPED / "bad_review.bpmn").read_text(encoding="utf-8"), "bad_review.bpmn") == []


@pytest.mark.parametrize("properties, rule, words", [
    ('<spiffworkflow:property name="stage" value="contact" />', "form", "缺少 form"),
    ('<spiffworkflow:property name="form" value="no_such_form" /><spiffworkflow:property name="stage" value="contact" />',
     "form", "表单“no_such_form”不存在"),
    ('<spiffworkflow:property name="form" value="contact_record" />', "stage", "缺少 stage"),
    ('<spiffworkflow:property name="form" value="contact_record" /><spiffworkflow:property name="stage" value="closed" />',
     "stage", "阶段“closed”无效"),
])
def test_every_user_task_names_a_form_that_exists_and_a_stage(properties: str, rule: str, words: str) -> None:
    [problem] = only(check(sample(task_properties=properties)), rule)
    assert problem.element_id == "work" and words in problem.message


@pytest.mark.parametrize("changes, words", [
    ({"timer": "__import__('os').system('id')"}, "不允许使用名称 __import__"),
    ({"timer": "deadline(contact_form, 3)"}, "未知名称 contact_form"),
    ({"timer": "deadline(now(), 3)"}, "不得使用 now()"),
    ({"timer": "deadline(contact_from, 'three')"}, "用示例数据求值失败"),
    ({"timer": "'2026-10-09T10:00:00'"}, "须带时区偏移"),
    ({"timer": "3"}, "须为 ISO 8601 字符串"),
    ({"timer": "'soon'"}, "不是 ISO 8601 时间"),
    ({"timer_kind": "timeDuration", "timer": "'three days'"}, "不是 ISO 8601 时长"),
    ({"timer": ""}, "有且只有一个时间表达式"),
    ({"timer_properties": ""}, "timerKind"),
    ({"timer_properties": '<spiffworkflow:property name="timerKind" value="deadline" />'}, "clock"),
    ({"cancel": "true"}, "非中断"),
])
def test_every_timer_is_declared_and_evaluates_to_a_deadline_with_sample_data(changes: dict[str, str],
                                                                               words: str) -> None:
    problems = only(check(sample(**changes)), "timer")
    assert problems[0].element_id == "work_deadline"
    assert any(words in p.message for p in problems), problems


def test_a_duration_timer_is_accepted() -> None:
    assert check(sample(timer_kind="timeDuration", timer="'P3D'", timer_properties=
                        '<spiffworkflow:property name="timerKind" value="other" />')) == []


@pytest.mark.parametrize("changes, element, words", [
    ({"script": "import os"}, "prepare", "不允许 import 语句"),
    ({"script": "x = ().__class__"}, "prepare", "不允许访问属性 __class__"),
    ({"script": "open('/etc/passwd')"}, "prepare", "不允许使用名称 open"),
    ({"script": "deadline = 3"}, "prepare", "与辅助函数同名"),
    ({"script": "class A: pass"}, "prepare", "不允许定义类"),
    ({"condition": "contacted == Ture"}, "f_reached", "未知名称 Ture"),
    ({"condition": "eval('1')"}, "f_reached", "不允许使用名称 eval"),
    ({"condition": "contacted =="}, "f_reached", "SyntaxError"),
])
def test_scripts_and_conditions_pass_the_restricted_checks(changes: dict[str, str], element: str,
                                                           words: str) -> None:
    problems = only(check(sample(**changes)), "script")
    assert problems[0].element_id == element
    assert any(words in p.message for p in problems), problems


def test_a_variable_a_script_sets_is_known_to_conditions() -> None:
    assert check(sample(script="reached = True", condition="reached")) == []


def test_problems_read_in_chinese_with_rule_and_element() -> None:
    [problem] = check(sample(called="appeals"))
    assert str(problem).startswith(f"第{problem.line}行 [调用的流程] call：")
    assert problem.as_dict() == {"rule": "call", "message": problem.message, "element_id": "call",
                                 "line": problem.line}
