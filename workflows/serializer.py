"""Instances serialized without their spec (DESIGN.md §8).

SpiffWorkflow's serializer embeds the whole parsed spec in every instance (about two thirds
of the bytes, and most of the cost of loading it back). Here the top-level workflow is
written without ``spec`` and ``subprocess_specs``; loading takes them from the spec registry
of the instance's deployed version. The script engine is not serialized: it is attached
again on every load.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from .specs import ProcessSpecs

_restoring: ContextVar[ProcessSpecs] = ContextVar("restoring_specs")


class SpeclessWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:
        specs = _restoring.get()
        workflow = self.target_class(specs.spec, specs.subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class InstanceSerializer:
    def __init__(self) -> None:
        config = dict(SPIFF_CONFIG)
        config[BpmnWorkflow] = SpeclessWorkflowConverter
        self._serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))

    def dump(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        state = self._serializer.to_dict(workflow)
        state["serializer_version"] = self._serializer.VERSION
        return state

    def load(self, state: dict[str, Any], specs: ProcessSpecs, script_engine: PythonScriptEngine) -> BpmnWorkflow:
        dct = dict(state)
        dct.pop("serializer_version", None)
        token = _restoring.set(specs)
        try:
            workflow = self._serializer.from_dict(dct)
        finally:
            _restoring.reset(token)
        workflow.script_engine = script_engine
        return workflow
