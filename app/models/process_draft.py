"""A process designer's draft: one BPMN file of the bundle (and the form definitions it
changes) on its way from editing through review by a second designer to deployment.

Deployed versions themselves are ``wf_deployment`` rows and never change; a draft names the
version it was opened from, and once deployed, the version it became.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflows.tables import Deployment

from .base import Base, JSONData
from .types import LabelledEnum, enum_type
from .user import User


class DraftState(LabelledEnum):
    DRAFT = ("draft", "草稿")
    IN_REVIEW = ("in_review", "待审核")
    APPROVED = ("approved", "已批准")
    REJECTED = ("rejected", "已退回")
    DEPLOYED = ("deployed", "已部署")
    DISCARDED = ("discarded", "已放弃")


# States in which the content may still change (a save of a rejected draft makes it a draft again).
EDITABLE_STATES = frozenset({DraftState.DRAFT, DraftState.REJECTED})
OPEN_STATES = frozenset({DraftState.DRAFT, DraftState.REJECTED, DraftState.IN_REVIEW, DraftState.APPROVED})


class ProcessDraft(Base):
    __tablename__ = "process_draft"
    __table_args__ = (Index("ix_process_draft_file_state", "file_name", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(String(100))  # e.g. bad_review.bpmn
    process_id: Mapped[str] = mapped_column(String(64))
    base_deployment_id: Mapped[int] = mapped_column(ForeignKey("wf_deployment.id"))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    # Form definitions this draft adds or changes: form name -> definition.
    form_files: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[DraftState] = mapped_column(enum_type(DraftState, "draft_state"), default=DraftState.DRAFT)
    note: Mapped[str] = mapped_column(String(200), default="")  # what the change is for
    # The validation result of the last save: Problem.as_dict() items.
    problems: Mapped[list[Any]] = mapped_column(JSONData, default=list)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    # Everyone who saved this draft: none of them may approve it (four eyes).
    editor_ids: Mapped[list[Any]] = mapped_column(JSONData, default=list)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    submitted_at: Mapped[datetime | None]
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    review_comment: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None]
    deployment_id: Mapped[int | None] = mapped_column(ForeignKey("wf_deployment.id"))
    deployed_at: Mapped[datetime | None]
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # Optimistic locking: a save based on an older revision is refused (concurrent edits).
    revision: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": revision}

    base_deployment: Mapped[Deployment] = relationship(foreign_keys=[base_deployment_id])
    deployment: Mapped[Deployment | None] = relationship(foreign_keys=[deployment_id])
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    updated_by: Mapped[User] = relationship(foreign_keys=[updated_by_id])
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])
    deployed_by: Mapped[User | None] = relationship(foreign_keys=[deployed_by_id])

    @property
    def editable(self) -> bool:
        return self.state in EDITABLE_STATES
