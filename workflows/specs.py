"""Process specs: BPMN files parsed safely, once per deployed version, and cached.

A *bundle* is the set of files a version consists of: every ``*.bpmn`` file (a process may
call another one as a call activity) and every form definition. Instances record the
deployment they run on and always load with that version's specs.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "bpmn"


class BpmnFileError(ValueError):
    """A BPMN file is refused; the message names the file, where, and why."""


def parse_xml_safely(content: str | bytes, filename: str) -> etree._ElementTree:
    """Parse XML without external entities, DTDs or network access; refuse any DOCTYPE
    (XXE and entity-expansion attacks never get as far as the BPMN parser)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             dtd_validation=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise BpmnFileError(f"{filename}: line {error.lineno}: not well-formed XML: {error.msg}") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise BpmnFileError(f"{filename}: a DOCTYPE is not allowed (no DTDs or entities in BPMN files)")
    return tree


@dataclass(frozen=True)
class Bundle:
    """The files of one process version."""

    bpmn_files: dict[str, str]  # file name -> XML text
    form_files: dict[str, Any]  # form name -> definition

    @property
    def sha256(self) -> str:
        canonical = json.dumps({"bpmn": self.bpmn_files, "forms": self.form_files},
                               sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def read_bundle(directory: Path = SHIPPED_DIR) -> Bundle:
    """The ``*.bpmn`` files of ``directory`` and the form definitions in its ``forms/``."""
    bpmn = {path.name: path.read_text(encoding="utf-8") for path in sorted(directory.glob("*.bpmn"))}
    forms = {path.stem: json.loads(path.read_text(encoding="utf-8"))
             for path in sorted((directory / "forms").glob("*.json"))}
    if not bpmn:
        raise BpmnFileError(f"{directory}: no .bpmn files")
    return Bundle(bpmn, forms)


def build_parser(bpmn_files: dict[str, str]) -> SpiffBpmnParser:
    parser = SpiffBpmnParser()
    for name, xml in sorted(bpmn_files.items()):
        tree = parse_xml_safely(xml, name)
        try:
            parser.add_bpmn_xml(tree, filename=name)
        except ValidationException as error:
            raise BpmnFileError(f"{name}: {error}") from None
    return parser


@dataclass(frozen=True)
class ProcessSpecs:
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]


class SpecRegistry:
    """Parsed specs by (deployment id, its files' SHA-256, process id); parsing happens once
    per version. The digest keeps an id that a rolled-back deployment gave back (SQLite
    reuses it) from serving another version's specs."""

    def __init__(self, capacity: int = 32) -> None:
        self._capacity = capacity
        self._cache: OrderedDict[tuple[int, str, str], ProcessSpecs] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, deployment_id: int, bpmn_files: dict[str, str] | Callable[[], dict[str, str]],
            process_id: str, sha256: str = "") -> ProcessSpecs:
        """``bpmn_files`` may be a callable, called only when the specs are not cached;
        ``sha256`` is the deployment's digest (see the class)."""
        key = (deployment_id, sha256, process_id)
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
        specs = parse_process(bpmn_files() if callable(bpmn_files) else bpmn_files, process_id)
        with self._lock:
            self._cache[key] = specs
            while len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
        return specs

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


def parse_process(bpmn_files: dict[str, str], process_id: str) -> ProcessSpecs:
    parser = build_parser(bpmn_files)
    try:
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as error:
        raise BpmnFileError(f"process {process_id}: {error}") from None
    return ProcessSpecs(spec, subprocess_specs)
