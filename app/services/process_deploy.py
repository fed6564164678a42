"""Deploying an approved draft: a new version is the newest deployed bundle with the draft's
file and forms in place. Deployed versions never change; new cases start on the newest,
running instances stay on theirs (until a designer migrates them).

A draft is deployed only if it was approved by a second designer, still passes validation
in the newest bundle, and nobody deployed another change to its file or forms since the
version it was opened from (that change would otherwise be silently undone). The caller
commits.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.clock import current_clock
from workflows.specs import BpmnFileError, Bundle, parse_process, parse_xml_safely, read_bundle
from workflows.tables import Deployment
from workflows.validation import NS

from ..models import DraftState, ProcessDraft, User
from .process_drafts import DraftError, check_revision, bundle_for, validate_in_bundle


def deploy(session: Session, draft: ProcessDraft, user: User, revision: int | None) -> Deployment:
    check_revision(draft, revision)
    if draft.state is not DraftState.APPROVED:
        raise DraftError(f"草稿处于“{draft.state.label}”状态：须经另一位流程设计员批准后才能部署", "state")
    bundle = bundle_for(session, draft)
    newest, base = bundle.base, draft.base_deployment
    if newest.id != base.id:
        changed = [name for name in [draft.file_name, *(f"forms/{n}.json" for n in draft.form_files)]
                   if _content(newest, name) != _content(base, name)]
        if changed:
            raise DraftError(f"草稿基于版本 {base.version}，而之后部署的版本 {newest.version} 也修改了 "
                             f"{'、'.join(changed)}：直接部署会撤销那些修改。请基于最新版本重新建立草稿。", "state")
    problems = validate_in_bundle(draft.bpmn_xml, draft.file_name, bundle.bpmn_files, bundle.forms)
    if problems:
        draft.problems = [p.as_dict() for p in problems]
        raise DraftError(f"草稿在当前版本下有 {len(problems)} 个问题，不能部署", "state", problems)
    sha = Bundle(bundle.bpmn_files, bundle.form_files).sha256
    if sha == newest.sha256:
        raise DraftError(f"草稿与当前版本 {newest.version} 完全相同，无需部署", "state")
    now = current_clock().now()
    version = (session.scalar(select(func.max(Deployment.version))) or 0) + 1
    note = draft.note or f"{draft.file_name}（草稿 {draft.id}）"
    deployment = Deployment(version=version, bpmn_files=bundle.bpmn_files, form_files=bundle.form_files,
                            sha256=sha, note=note[:200], deployed_by=user.username[:64], deployed_at=now)
    session.add(deployment)
    session.flush()
    for process_id in _executable_processes(bundle.bpmn_files):
        try:  # not cached here: the registry fills when the committed version is first used
            parse_process(bundle.bpmn_files, process_id)
        except BpmnFileError as error:  # validation passed, so this is not expected; refuse all the same
            raise DraftError(f"流程引擎无法加载新版本：{error}", "state") from None
    draft.state, draft.deployment = DraftState.DEPLOYED, deployment
    draft.deployed_at, draft.deployed_by_id = now, user.id
    session.flush()
    return deployment


def _content(deployment: Deployment, name: str) -> object:
    if name.startswith("forms/"):
        return deployment.form_files.get(name.removeprefix("forms/").removesuffix(".json"))
    return deployment.bpmn_files.get(name)


def _executable_processes(bpmn_files: dict[str, str]) -> list[str]:
    ids: list[str] = []
    for name, xml in sorted(bpmn_files.items()):
        ids += [p.get("id", "") for p in parse_xml_safely(xml, name).getroot().iterfind("bpmn:process", NS)
                if p.get("isExecutable", "true").lower() != "false"]
    return ids


def reviewed_version_replaced_by_shipped(session: Session) -> Deployment | None:
    """The newest version, when a designer's reviewed draft made it and the files in
    ``bpmn/`` differ from it: deploying those files would silently undo that review."""
    newest = session.scalar(select(Deployment).order_by(Deployment.version.desc()).limit(1))
    if newest is None or newest.sha256 == read_bundle().sha256:
        return None
    made_by_draft = session.scalar(select(ProcessDraft.id).where(ProcessDraft.deployment_id == newest.id).limit(1))
    return newest if made_by_draft is not None else None
