"""The application's side of the BPMN contract: which case stages a user task may name, and
the bundle a file is validated in (the other BPMN files and the form definitions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflows.forms import FormDefinition, parse_form
from workflows.specs import BpmnFileError, parse_xml_safely
from workflows.validation import Contract, Problem, process_ids, validate_bpmn

from ..models import CaseStage

# A user task's stage is where the case stands while it is open: not routing or closed.
TASK_STAGES = frozenset(stage.value for stage in CaseStage if stage not in (CaseStage.ROUTING, CaseStage.CLOSED))


def parse_forms(form_files: Mapping[str, Any], source: str) -> dict[str, FormDefinition]:
    """Form definitions by name; a broken one raises ``workflows.forms.FormDefinitionError``."""
    return {name: parse_form(definition, f"{source}: forms/{name}.json") for name, definition in form_files.items()}


def contract(bpmn_files: Mapping[str, str], forms: Mapping[str, FormDefinition], file_name: str) -> Contract:
    """The contract for ``file_name`` in a bundle: the forms, and every other file."""
    return Contract(forms=dict(forms), stages=TASK_STAGES,
                    other_files={name: xml for name, xml in bpmn_files.items() if name != file_name})


def validate_in_bundle(xml: str | bytes, file_name: str, bpmn_files: Mapping[str, str],
                       forms: Mapping[str, FormDefinition]) -> list[Problem]:
    """The problems of ``xml`` as file ``file_name`` of the bundle (replacing its namesake)."""
    return validate_bpmn(xml, file_name, contract(bpmn_files, forms, file_name))


def file_for_process(bpmn_files: Mapping[str, str], process_id: str) -> str | None:
    """The bundle file that defines ``process_id``, if any."""
    for name, xml in sorted(bpmn_files.items()):
        try:
            if process_id in process_ids(parse_xml_safely(xml, name)):
                return name
        except BpmnFileError:
            continue
    return None
