"""A small valid process for validation tests, with each part replaceable."""

from __future__ import annotations

from pathlib import Path
from string import Template

from workflows.forms import load_forms
from workflows.validation import Contract

SHIPPED = Path(__file__).resolve().parents[2] / "bpmn"
STAGES = frozenset({"on_spot", "contact", "rectification", "appeal", "recheck", "return_visit",
                    "supervisor_decision", "filing"})

SAMPLE = Template("""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Definitions_demo" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:collaboration id="Collaboration_demo">
    <bpmn:participant id="Participant_demo" name="示例" processRef="demo" />
  </bpmn:collaboration>
  <bpmn:process id="demo" name="示例" isExecutable="true">
    <bpmn:laneSet id="LaneSet_demo">
      <bpmn:lane id="Lane_main" name="$lane">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>prepare</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>$task_in_lane</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>work_deadline</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>deadline_end</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>gw</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>call</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" name="开始">
      <bpmn:outgoing>f_start</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:scriptTask id="prepare" name="准备">
      <bpmn:incoming>f_start</bpmn:incoming>
      <bpmn:outgoing>f_prepare</bpmn:outgoing>
      <bpmn:script>$script</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="$task_id" name="联系群众">
      <bpmn:extensionElements>
        <spiffworkflow:properties>$task_properties
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>f_prepare</bpmn:incoming>
      <bpmn:outgoing>f_work</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="work_deadline" name="联系期限" cancelActivity="$cancel" attachedToRef="$task_id">
      <bpmn:extensionElements>
        <spiffworkflow:properties>$timer_properties
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:outgoing>f_deadline</bpmn:outgoing>
      <bpmn:timerEventDefinition id="work_deadline_timer">
        <bpmn:$timer_kind xsi:type="bpmn:tFormalExpression">$timer</bpmn:$timer_kind>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="deadline_end" name="已逾期">
      <bpmn:incoming>f_deadline</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:exclusiveGateway id="gw" name="联系上了？" default="f_other">
      <bpmn:incoming>f_work</bpmn:incoming>
      <bpmn:outgoing>f_reached</bpmn:outgoing>
      <bpmn:outgoing>f_other</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:callActivity id="call" name="申诉" calledElement="$called">
      <bpmn:incoming>f_reached</bpmn:incoming>
      <bpmn:outgoing>f_call</bpmn:outgoing>
    </bpmn:callActivity>
    <bpmn:endEvent id="end" name="结束">
      <bpmn:incoming>f_call</bpmn:incoming>
      <bpmn:incoming>f_other</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="prepare" />
    <bpmn:sequenceFlow id="f_prepare" sourceRef="prepare" targetRef="$task_id" />
    <bpmn:sequenceFlow id="f_work" sourceRef="$task_id" targetRef="gw" />
    <bpmn:sequenceFlow id="f_deadline" sourceRef="work_deadline" targetRef="deadline_end" />
    <bpmn:sequenceFlow id="f_reached" sourceRef="gw" targetRef="call">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">$condition</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_other" sourceRef="gw" targetRef="end" />
    <bpmn:sequenceFlow id="f_call" sourceRef="call" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
""")

DEFAULTS = {
    "lane": "部门经办人", "task_id": "work", "task_in_lane": "work", "script": "contact_from = received_at",
    "task_properties": '\n          <spiffworkflow:property name="form" value="contact_record" />'
                       '\n          <spiffworkflow:property name="stage" value="contact" />',
    "timer_properties": '\n          <spiffworkflow:property name="timerKind" value="deadline" />'
                        '\n          <spiffworkflow:property name="clock" value="contact" />',
    "cancel": "false", "timer_kind": "timeDate", "timer": "deadline(contact_from, 3)",
    "condition": "contacted == True", "called": "recheck",
}


def sample(**changes: str) -> str:
    return SAMPLE.substitute({**DEFAULTS, **changes})


def shipped_contract(without: str | None = None) -> Contract:
    """The shipped forms and stages, and the shipped files other than ``without``."""
    others = {p.name: p.read_text(encoding="utf-8") for p in SHIPPED.glob("*.bpmn") if p.name != without}
    return Contract(forms=load_forms(SHIPPED / "forms"), stages=STAGES, other_files=others)
