"""The version diff (issue 7): elements added, removed and changed, from SpiffWorkflow's spec
diff over a process and its embedded subprocesses."""

from __future__ import annotations

from app.services.process_diff import diff_file
from workflows.specs import parse_process, read_bundle

from .test_instance_migration import NEW_WARNING

BUNDLE = read_bundle().bpmn_files
OLD = BUNDLE["bad_review.bpmn"]


def diff(new_xml: str):  # type: ignore[no-untyped-def]
    new_bundle = {**BUNDLE, "bad_review.bpmn": new_xml}
    return diff_file("bad_review.bpmn", OLD, new_xml, lambda pid: parse_process(BUNDLE, pid),
                     lambda pid: parse_process(new_bundle, pid), "版本 1", "草稿")


def test_added_removed_and_changed_elements() -> None:
    new = (OLD.replace('<bpmn:endEvent id="triage_warning_end"', NEW_WARNING, 1)
           .replace('name="整改处置">', 'name="整改并反馈">', 1)
           .replace("is_complex = True\nrectify_days = 15", "is_complex = True\nrectify_days = 10", 1))
    result = diff(new)
    assert result.error is None
    assert {(e.bpmn_id, e.kind) for e in result.added} == {("triage_early_warning", "边界事件"),
                                                           ("triage_early_warning_end", "结束事件")}
    assert result.removed == []
    changed = {e.bpmn_id: e for e in result.changed}
    assert changed["rectify"].name == "整改处置 → 整改并反馈" and changed["rectify"].changes == "名称"
    assert changed["set_complex"].changes == "脚本"  # inside the embedded subprocess
    assert result.markers["added"] == [e.bpmn_id for e in result.added]


def test_removed_and_renamed_elements() -> None:
    with_warning = OLD.replace('<bpmn:endEvent id="triage_warning_end"', NEW_WARNING, 1)
    bundle = {**BUNDLE, "bad_review.bpmn": with_warning}
    result = diff_file("bad_review.bpmn", with_warning, OLD, lambda pid: parse_process(bundle, pid),
                       lambda pid: parse_process(BUNDLE, pid), "版本 2", "版本 3")
    assert {e.bpmn_id for e in result.removed} == {"triage_early_warning", "triage_early_warning_end"}
    renamed = OLD.replace('id="triage_warning"', 'id="triage_first_warning"', 1) \
        .replace('sourceRef="triage_warning"', 'sourceRef="triage_first_warning"', 1) \
        .replace("<bpmn:flowNodeRef>triage_warning</bpmn:flowNodeRef>", "<bpmn:flowNodeRef>triage_first_warning</bpmn:flowNodeRef>", 1) \
        .replace('bpmnElement="triage_warning"', 'bpmnElement="triage_first_warning"', 1)
    result = diff(renamed)
    changed = {e.bpmn_id: e.changes for e in result.changed}
    assert "标识" in changed["triage_warning"]  # SpiffWorkflow aligned it by its place in the flow


def test_a_draft_that_does_not_parse_is_reported_not_raised() -> None:
    result = diff(OLD.replace('calledElement="appeal"', 'calledElement="nowhere"', 1))
    assert result.error and "无法解析" in result.error
