"""Process drafts: open a deployed file (or upload one) as a draft, save it, submit it for
review, approve or reject it (four eyes: never by someone who edited it), discard it.

Every save and upload is validated against the bundle the draft would be deployed into (the
newest deployed version with the draft's file and forms in place); the problems are stored
with the draft and shown next to their elements. A save names the revision it was based on:
a draft saved meanwhile by someone else refuses it (nothing is lost: the editor keeps the
refused content). The caller commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from calendars import SHANGHAI
from workflows.clock import current_clock
from workflows.forms import FormDefinition, FormDefinitionError, parse_form
from workflows.specs import parse_xml_safely
from workflows.tables import Deployment
from workflows.validation import MAX_BPMN_BYTES, Problem, process_ids

from ..models import DraftState, ProcessDraft, User
from ..models.process_draft import EDITABLE_STATES, OPEN_STATES
from .bpmn_contract import file_for_process, parse_forms, validate_in_bundle
from .engine_runtime import current_deployment, forms_of

MAX_FORM_BYTES = 256 * 1024
MAX_COMMENT = 2000
# Problems that keep a file out of the database altogether: it is not a BPMN document.
REFUSED_RULES = frozenset({"size", "xml"})


class DraftError(ValueError):
    """A request about a draft is refused; ``field`` names the input concerned."""

    def __init__(self, message: str, field: str | None = None, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.message, self.field, self.problems = message, field, problems or []


class StaleDraft(DraftError):
    """The draft changed since the caller read it (another designer saved or acted)."""


@dataclass(frozen=True)
class DraftBundle:
    """What a draft would be deployed into: every BPMN file and form definition."""

    base: Deployment  # the newest deployed version
    bpmn_files: dict[str, str]
    forms: dict[str, FormDefinition]
    form_files: dict[str, Any]


def bundle_for(session: Session, draft: ProcessDraft) -> DraftBundle:
    newest = current_deployment(session)
    bpmn = dict(newest.bpmn_files)
    bpmn[draft.file_name] = draft.bpmn_xml
    forms = dict(forms_of(newest))
    forms.update(parse_forms(draft.form_files, f"草稿 {draft.id}"))
    form_files = {**newest.form_files, **draft.form_files}
    return DraftBundle(newest, bpmn, forms, form_files)


def validate_draft(session: Session, draft: ProcessDraft) -> list[Problem]:
    with session.no_autoflush:  # one flush per change: each flush of a draft is a new revision
        bundle = bundle_for(session, draft)
        return validate_in_bundle(draft.bpmn_xml, draft.file_name, bundle.bpmn_files, bundle.forms)


def get_draft(session: Session, draft_id: int) -> ProcessDraft | None:
    return session.get(ProcessDraft, draft_id)


def open_drafts(session: Session) -> list[ProcessDraft]:
    return list(session.scalars(select(ProcessDraft).where(ProcessDraft.state.in_(OPEN_STATES))
                                .order_by(ProcessDraft.updated_at.desc())))


def _new(session: Session, user: User, file_name: str, process_id: str, xml: str, note: str) -> ProcessDraft:
    now = current_clock().now()
    draft = ProcessDraft(file_name=file_name, process_id=process_id, base_deployment=current_deployment(session),
                         bpmn_xml=xml, form_files={}, state=DraftState.DRAFT, note=_note(note), problems=[],
                         author_id=user.id, editor_ids=[user.id], created_at=now, updated_at=now,
                         updated_by_id=user.id)
    session.add(draft)
    draft.problems = [p.as_dict() for p in validate_draft(session, draft)]
    session.flush()
    return draft


def open_draft(session: Session, user: User, file_name: str, note: str = "") -> ProcessDraft:
    """A new draft of ``file_name`` as the newest deployed version has it."""
    newest = current_deployment(session)
    xml = newest.bpmn_files.get(file_name)
    if xml is None:
        raise DraftError(f"当前版本中没有流程文件“{file_name}”", "file_name")
    ids = process_ids(parse_xml_safely(xml, file_name))
    return _new(session, user, file_name, ids[0] if ids else file_name.removesuffix(".bpmn"), xml, note)


def upload_draft(session: Session, user: User, content: bytes, note: str = "") -> ProcessDraft:
    """A draft from an uploaded file. A file that is too large, not XML or carries a DTD
    is refused outright; other problems are stored with the draft."""
    if len(content) > MAX_BPMN_BYTES:
        raise DraftError(f"文件超过 {MAX_BPMN_BYTES // 1024} KB 的上限", "file")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DraftError("文件不是 UTF-8 编码的 XML", "file") from None
    newest = current_deployment(session)
    refused = [p for p in validate_in_bundle(content, "upload.bpmn", newest.bpmn_files, forms_of(newest))
               if p.rule in REFUSED_RULES]
    if refused:
        raise DraftError(f"文件被拒绝：{refused[0].message}", "file", refused)
    ids = process_ids(parse_xml_safely(content, "upload.bpmn"))
    if not ids or not all(_is_identifier(i) for i in ids):
        raise DraftError("文件中没有标识有效的 bpmn:process（须为字母、数字和下划线）", "file")
    file_name = file_for_process(newest.bpmn_files, ids[0]) or f"{ids[0]}.bpmn"
    return _new(session, user, file_name, ids[0], text, note)


def _is_identifier(value: str) -> bool:
    return 0 < len(value) <= 64 and value.replace("_", "a").replace("-", "a").isalnum() and value.isascii()


def _note(note: str | None) -> str:
    text = (note or "").strip()
    if len(text) > 200:
        raise DraftError("变更说明不能超过200字", "note")
    if not text.isprintable():
        raise DraftError("变更说明不能包含换行或控制字符", "note")
    return text


def check_revision(draft: ProcessDraft, revision: int | None) -> None:
    if revision is None or revision != draft.revision:
        who = draft.updated_by.display_name if draft.updated_by else "其他设计员"
        raise StaleDraft(f"该草稿已被{who}于 {draft.updated_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S} 修改"
                         f"（第 {draft.revision} 版），您的修改没有保存。请下载或复制您的版本，"
                         "刷新页面后再合并修改。", "revision")


def _check_editable(draft: ProcessDraft) -> None:
    if draft.state not in EDITABLE_STATES:
        raise DraftError(f"草稿处于“{draft.state.label}”状态，不能修改"
                         + ("（请先撤回审核）" if draft.state is DraftState.IN_REVIEW else ""), "state")


def _touch(draft: ProcessDraft, user: User) -> None:
    draft.updated_at, draft.updated_by_id = current_clock().now(), user.id
    if user.id not in draft.editor_ids:
        draft.editor_ids = [*draft.editor_ids, user.id]


def save_draft(session: Session, draft: ProcessDraft, user: User, xml: str, revision: int | None,
               note: str | None = None) -> list[Problem]:
    """Save new content; a rejected draft becomes a draft again. Returns its problems."""
    check_revision(draft, revision)
    _check_editable(draft)
    if not isinstance(xml, str) or not xml.strip():
        raise DraftError("流程图内容为空", "xml")
    if len(xml.encode("utf-8")) > MAX_BPMN_BYTES:
        raise DraftError(f"流程文件超过 {MAX_BPMN_BYTES // 1024} KB 的上限", "xml")
    draft.bpmn_xml = xml
    if note is not None:
        draft.note = _note(note)
    draft.state = DraftState.DRAFT
    _touch(draft, user)
    problems = validate_draft(session, draft)
    refused = [p for p in problems if p.rule in REFUSED_RULES]
    if refused:
        raise DraftError(f"内容被拒绝：{refused[0].message}", "xml", refused)
    ids = process_ids(parse_xml_safely(xml, draft.file_name))
    if draft.process_id not in ids:
        raise DraftError(f"流程标识必须保持为“{draft.process_id}”（文件 {draft.file_name}）", "xml")
    draft.problems = [p.as_dict() for p in problems]
    session.flush()
    return problems


def save_form(session: Session, draft: ProcessDraft, user: User, name: str, text: str,
              revision: int | None) -> FormDefinition:
    """Add or change a form definition in the draft (validated before it is kept)."""
    check_revision(draft, revision)
    _check_editable(draft)
    definition = parse_form_text(name, text)
    draft.form_files = {**draft.form_files, definition.name: json.loads(text)}
    draft.state = DraftState.DRAFT
    _touch(draft, user)
    draft.problems = [p.as_dict() for p in validate_draft(session, draft)]
    session.flush()
    return definition


def parse_form_text(name: str, text: str) -> FormDefinition:
    """A form definition from the editor's JSON text, whose ``name`` must be ``name``."""
    if len(text.encode("utf-8")) > MAX_FORM_BYTES:
        raise DraftError(f"表单定义超过 {MAX_FORM_BYTES // 1024} KB 的上限", "definition")
    try:
        definition = parse_form(text, f"forms/{name}.json")
    except FormDefinitionError as error:
        raise DraftError(f"表单定义有误：{error.where}：{error.reason}", "definition") from None
    if definition.name != name:
        raise DraftError(f"表单定义的 name 必须是“{name}”（现为“{definition.name}”）", "definition")
    return definition


def submit(session: Session, draft: ProcessDraft, user: User, revision: int | None) -> None:
    check_revision(draft, revision)
    _check_editable(draft)
    problems = validate_draft(session, draft)
    draft.problems = [p.as_dict() for p in problems]
    if problems:
        session.flush()
        raise DraftError(f"草稿还有 {len(problems)} 个问题，改正后才能提交审核", "state", problems)
    draft.state, draft.submitted_at = DraftState.IN_REVIEW, current_clock().now()
    draft.reviewer_id = draft.review_comment = draft.reviewed_at = None
    session.flush()


def withdraw(session: Session, draft: ProcessDraft, user: User, revision: int | None) -> None:
    check_revision(draft, revision)
    if draft.state not in (DraftState.IN_REVIEW, DraftState.APPROVED):
        raise DraftError(f"草稿处于“{draft.state.label}”状态，不能撤回", "state")
    draft.state = DraftState.DRAFT
    draft.reviewer_id = draft.review_comment = draft.reviewed_at = None
    session.flush()


def review(session: Session, draft: ProcessDraft, user: User, approve: bool, comment: str,
           revision: int | None) -> None:
    """Approve or reject a draft in review: by a designer who never edited it, with a comment."""
    check_revision(draft, revision)
    if draft.state is not DraftState.IN_REVIEW:
        raise DraftError(f"草稿处于“{draft.state.label}”状态，不在审核中", "state")
    if user.id == draft.author_id or user.id in draft.editor_ids:
        raise DraftError("不能审核自己编写或修改过的草稿：须由另一位流程设计员审核（双人复核）", "reviewer")
    text = (comment or "").strip()
    if not text:
        raise DraftError("请填写审核意见", "comment")
    if len(text) > MAX_COMMENT:
        raise DraftError(f"审核意见不能超过{MAX_COMMENT}字", "comment")
    if approve:
        problems = validate_draft(session, draft)
        if problems:
            draft.problems = [p.as_dict() for p in problems]
            raise DraftError(f"草稿在当前版本下有 {len(problems)} 个问题，不能批准", "state", problems)
    draft.state = DraftState.APPROVED if approve else DraftState.REJECTED
    draft.reviewer_id, draft.review_comment, draft.reviewed_at = user.id, text, current_clock().now()
    session.flush()


def discard(session: Session, draft: ProcessDraft, user: User, revision: int | None) -> None:
    check_revision(draft, revision)
    if draft.state not in OPEN_STATES:
        raise DraftError(f"草稿处于“{draft.state.label}”状态，不能放弃", "state")
    draft.state = DraftState.DISCARDED
    _touch(draft, user)
    session.flush()


def problems_of(draft: ProcessDraft) -> list[Problem]:
    return [Problem(**item) for item in draft.problems]

