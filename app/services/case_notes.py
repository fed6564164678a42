"""Comments and evidence files on a case: listing them (the task page and the case page),
and adding them — each addition with its history event, in one transaction.

Who may read them is who may see the case (``case_access.can_view_case``); who may add
to them is who works cases (:func:`may_contribute`): auditors only read.
"""

from __future__ import annotations

from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from workflows.clock import current_clock
from workflows.engine import lock_instance
from workflows.tables import HumanTask

from ..models import Case, CaseComment, EvidenceFile, Role, User
from . import evidence_store
from .case_access import can_view_case
from .case_history import record

MAX_COMMENT_LENGTH = 2000
# Roles that work cases and so may add comments and evidence (auditors only read).
CONTRIBUTING_ROLES = (Role.HANDLER, Role.LEAD, Role.VERIFIER, Role.SUPERVISOR)


class NoteError(ValueError):
    """A comment or file is refused; ``field`` names the input, nothing was changed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def list_comments(session: Session, case: Case) -> list[CaseComment]:
    """The case's comments, oldest first, with their authors (one query)."""
    return list(session.scalars(select(CaseComment).where(CaseComment.case_id == case.id)
                                .options(joinedload(CaseComment.author)).order_by(CaseComment.id)))


def list_evidence(session: Session, case: Case) -> list[EvidenceFile]:
    """The case's evidence files, oldest first, with their uploaders (one query)."""
    return list(session.scalars(select(EvidenceFile).where(EvidenceFile.case_id == case.id)
                                .options(joinedload(EvidenceFile.uploader)).order_by(EvidenceFile.id)))


def may_contribute(session: Session, user: User, case: Case) -> bool:
    return user.has_role(*CONTRIBUTING_ROLES) and can_view_case(session, user, case)


def _check_contributor(session: Session, user: User, case: Case) -> None:
    if not may_contribute(session, user, case):
        raise PermissionError("无权在该工单添加意见或材料")


def add_comment(session: Session, case: Case, user: User, body: str | None) -> CaseComment:
    """Add a comment (plain text, shown escaped) with its ``comment_added`` history event."""
    text = (body or "").strip()
    if not text:
        raise NoteError("body", "意见内容不能为空")
    if len(text) > MAX_COMMENT_LENGTH:
        raise NoteError("body", f"意见内容最多{MAX_COMMENT_LENGTH}字")
    _check_contributor(session, user, case)
    if case.instance_id is not None:
        lock_instance(session, case.instance_id)  # the history's sequence numbers are per case
    comment = CaseComment(case_id=case.id, author_id=user.id, body=text, created_at=current_clock().now())
    session.add(comment)
    session.flush()
    record(session, case, "comment_added", actor=user, data={"comment_id": comment.id})
    return comment


def attach_evidence(session: Session, case: Case, user: User, *, filename: str | None,
                    stream: BinaryIO, root: str, max_bytes: int,
                    task: HumanTask | None = None) -> EvidenceFile:
    """Check and store an uploaded file under ``root`` and attach it to the case.

    The file's extension must be an allowed one and its content must be of that type;
    :class:`NoteError` (field ``file``) says why not, and then nothing is stored.
    """
    _check_contributor(session, user, case)
    if task is not None and task.instance_id != case.instance_id:
        raise NoteError("file", "任务不属于该工单")
    try:
        stored = evidence_store.store(root, filename, stream, max_bytes)
    except evidence_store.EvidenceRejected as rejected:
        raise NoteError("file", str(rejected)) from None
    if case.instance_id is not None:
        lock_instance(session, case.instance_id)
    evidence = EvidenceFile(case_id=case.id, task_id=task.id if task is not None else None,
                            uploaded_by=user.id, filename=stored.filename, content_type=stored.content_type,
                            size=stored.size, sha256=stored.sha256, created_at=current_clock().now())
    session.add(evidence)
    session.flush()
    record(session, case, "evidence_attached", actor=user, data={
        "evidence_id": evidence.id, "filename": stored.filename, "size": stored.size,
        "sha256": stored.sha256, "task_id": evidence.task_id})
    return evidence


def evidence_for_download(session: Session, user: User, evidence_id: int) -> EvidenceFile | None:
    """The evidence row if ``user`` may see its case, else None (answered as 404)."""
    evidence = session.get(EvidenceFile, evidence_id)
    if evidence is None or not can_view_case(session, user, evidence.case):
        return None
    return evidence
