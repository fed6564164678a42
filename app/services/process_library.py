"""The process library: every process file with its deployed versions (deployed = the newest,
retired = superseded), how many unfinished instances each version runs, and open drafts.

A version is a deployed bundle (``wf_deployment``); a file's row in a version says whether
that version changed the file. Deployed versions never change, so what is read from their
files is cached per version.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, undefer

from workflows.specs import BpmnFileError, parse_xml_safely
from workflows.tables import COMPLETED, Deployment, ProcessInstance
from workflows.validation import NS

from ..models import DraftState, ProcessDraft, User
from ..models.process_draft import OPEN_STATES
from .engine_runtime import current_deployment

DEPLOYED, RETIRED = "deployed", "retired"
STATE_LABELS = {DEPLOYED: "已部署（新案件使用）", RETIRED: "已停用（仅存量实例）"}


@dataclass(frozen=True)
class FileFacts:
    sha256: str
    process_ids: tuple[str, ...]
    name: str  # the first process's name


@dataclass
class VersionRow:
    version: int
    deployed_at: datetime
    deployed_by: str
    note: str
    state: str
    changed: bool  # this version changed the file (or first had it)
    running: int  # unfinished instances of this file's processes on this version
    draft: ProcessDraft | None  # the draft that became this version, if any

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass
class ProcessEntry:
    file_name: str
    process_ids: tuple[str, ...]
    name: str
    versions: list[VersionRow] = field(default_factory=list)
    drafts: list[ProcessDraft] = field(default_factory=list)


_FACTS: dict[tuple[int, str, str], FileFacts] = {}


def file_facts(deployment: Deployment, file_name: str) -> FileFacts:
    key = (deployment.id, deployment.sha256, file_name)
    facts = _FACTS.get(key)
    if facts is None:
        xml = deployment.bpmn_files[file_name]
        try:
            processes = parse_xml_safely(xml, file_name).getroot().findall("bpmn:process", NS)
        except BpmnFileError:
            processes = []
        facts = FileFacts(hashlib.sha256(xml.encode("utf-8")).hexdigest(),
                          tuple(p.get("id", "") for p in processes),
                          (processes[0].get("name") or processes[0].get("id", "")) if processes else file_name)
        _FACTS[key] = facts
    return facts


def library(session: Session) -> list[ProcessEntry]:
    newest = current_deployment(session)
    deployments = session.scalars(select(Deployment).options(undefer(Deployment.bpmn_files))
                                  .order_by(Deployment.version)).all()
    running = {(d, p): n for d, p, n in session.execute(
        select(ProcessInstance.deployment_id, ProcessInstance.process_id, func.count())
        .where(ProcessInstance.status != COMPLETED)
        .group_by(ProcessInstance.deployment_id, ProcessInstance.process_id))}
    origin = {d.deployment_id: d for d in session.scalars(
        select(ProcessDraft).where(ProcessDraft.state == DraftState.DEPLOYED))}
    entries: dict[str, ProcessEntry] = {}
    last_sha: dict[str, str] = {}
    for deployment in deployments:
        for file_name in sorted(deployment.bpmn_files):
            facts = file_facts(deployment, file_name)
            entry = entries.setdefault(file_name, ProcessEntry(file_name, facts.process_ids, facts.name))
            changed, last_sha[file_name] = last_sha.get(file_name) != facts.sha256, facts.sha256
            entry.versions.append(VersionRow(
                deployment.version, deployment.deployed_at, deployment.deployed_by, deployment.note,
                DEPLOYED if deployment.id == newest.id else RETIRED, changed,
                sum(running.get((deployment.id, p), 0) for p in facts.process_ids), origin.get(deployment.id)))
            if deployment.id == newest.id:
                entry.process_ids, entry.name = facts.process_ids, facts.name
    for draft in session.scalars(select(ProcessDraft).where(ProcessDraft.state.in_(OPEN_STATES))
                                 .order_by(ProcessDraft.updated_at.desc())):
        entries.setdefault(draft.file_name, ProcessEntry(draft.file_name, (draft.process_id,),
                                                         f"{draft.process_id}（新流程）")).drafts.append(draft)
    for entry in entries.values():
        entry.versions.reverse()  # newest first
    return sorted(entries.values(), key=lambda e: (not e.versions, e.file_name))


def version_file(session: Session, version: int, file_name: str) -> str | None:
    """The XML of ``file_name`` as deployed in ``version`` (None if there is no such file)."""
    deployment = session.scalar(select(Deployment).where(Deployment.version == version))
    return deployment.bpmn_files.get(file_name) if deployment is not None else None


def deployment_of(session: Session, version: int) -> Deployment | None:
    return session.scalar(select(Deployment).where(Deployment.version == version))


def user_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())
