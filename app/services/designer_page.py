"""What the designer's editor page shows of a draft: its problems, the forms of its bundle
(the draft's own changes marked), the choices of the properties panel (forms, stages, lanes
that are roles, timer kinds and clocks) and what the signed-in designer may do with it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from workflows.engine import LANE_ROLES
from workflows.validation import Problem
from workflows.validation_rules import CLOCKS, TIMER_KINDS

from ..models import CaseStage, DraftState, ProcessDraft, User
from .bpmn_contract import TASK_STAGES
from .process_drafts import bundle_for, validate_draft
from .process_library import user_names

CLOCK_LABELS = {"triage": "初步处置（按联系时限）", "contact": "联系群众（3个工作日）",
                "rectify": "整改反馈（5或15个工作日）", "close": "办结"}
TIMER_KIND_LABELS = {"warning": "预警（期限前一个工作日）", "deadline": "期限（逾期并督办，案件继续）", "other": "其他"}


@dataclass
class EditorPage:
    draft: ProcessDraft
    problems: list[Problem]
    forms: dict[str, str]  # form name -> JSON text as it would be deployed
    changed_forms: set[str]
    newest_version: int
    names: dict[int, str]
    can_edit: bool
    can_review: bool
    can_deploy: bool
    panel: dict[str, Any]  # choices for the properties panel (JSON for the page's script)

    @property
    def panel_json(self) -> str:
        return json.dumps(self.panel, ensure_ascii=False)


def editor_page(session: Session, draft: ProcessDraft, user: User) -> EditorPage:
    bundle = bundle_for(session, draft)
    forms = {name: json.dumps(definition, ensure_ascii=False, indent=2)
             for name, definition in sorted(bundle.form_files.items())}
    ids = {draft.author_id, draft.updated_by_id, *draft.editor_ids}
    ids |= {i for i in (draft.reviewer_id, draft.deployed_by_id) if i}
    may_review = (draft.state is DraftState.IN_REVIEW and user.id != draft.author_id
                  and user.id not in draft.editor_ids)
    panel = {
        "forms": sorted(bundle.forms),
        "stages": [[s.value, s.label] for s in CaseStage if s.value in TASK_STAGES],
        "lanes": list(LANE_ROLES),
        "timerKinds": [[k, TIMER_KIND_LABELS[k]] for k in TIMER_KINDS],
        "clocks": [[c, CLOCK_LABELS[c]] for c in CLOCKS],
        "editable": draft.editable,
    }
    # Validated afresh: the newest version the draft would go into may have changed since its last save.
    return EditorPage(draft, validate_draft(session, draft), forms, set(draft.form_files), bundle.base.version,
                      user_names(session, ids), draft.editable, may_review,
                      draft.state is DraftState.APPROVED, panel)
