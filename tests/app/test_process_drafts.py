"""Process drafts (issue 7): save with validation, concurrent edits, uploads, four-eyes review,
deployment of a new version; new cases start on it, running ones keep theirs."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import DraftState, ProcessDraft, Role
from app.services import calendar_years
from app.services.cases import open_case
from app.services.engine_runtime import SPECS, current_deployment
from app.services.process_deploy import deploy
from app.services.process_drafts import (DraftError, StaleDraft, discard, open_draft, review, save_draft,
                                         save_form, submit, upload_draft, withdraw)
from workflows.clock import ManualClock
from workflows.tables import Deployment
from workflows.validation import MAX_BPMN_BYTES

from . import factories
from ..workflows.bpmn_samples import SHIPPED, sample
from ..workflows.test_validation import BILLION_LAUGHS, XXE
from .test_cases import District, bad_rating

RECHECK = (SHIPPED / "recheck.bpmn").read_text(encoding="utf-8")


class Designers:
    def __init__(self, session: Session) -> None:
        self.ann = factories.user(session, "designer.ann", [Role.DESIGNER])
        self.bob = factories.user(session, "designer.bob", [Role.DESIGNER])
        self.cat = factories.user(session, "designer.cat", [Role.DESIGNER])


@pytest.fixture(autouse=True)
def fresh_specs() -> Iterator[None]:
    """Deployment ids come back after a rolled-back test: parsed specs must not outlive it."""
    SPECS.clear()
    yield
    SPECS.clear()


@pytest.fixture
def designers(session: Session, clock: ManualClock) -> Designers:
    return Designers(session)


def renamed(xml: str, old: str = 'name="复核">', new: str = 'name="二次复核">') -> str:
    assert old in xml
    return xml.replace(old, new, 1)


def approved(session: Session, designers: Designers, draft: ProcessDraft) -> ProcessDraft:
    submit(session, draft, designers.ann, draft.revision)
    review(session, draft, designers.cat, True, "同意上线", draft.revision)
    return draft


def test_open_draft_of_the_newest_version(session: Session, designers: Designers) -> None:
    draft = open_draft(session, designers.ann, "recheck.bpmn", "复核改名")
    assert (draft.state, draft.process_id, draft.revision, draft.problems) == (DraftState.DRAFT, "recheck", 1, [])
    assert draft.base_deployment.version == 1 and draft.bpmn_xml == RECHECK
    with pytest.raises(DraftError, match="没有流程文件“nope.bpmn”"):
        open_draft(session, designers.ann, "nope.bpmn")


def test_every_save_is_validated_and_problems_stored(session: Session, designers: Designers) -> None:
    draft = open_draft(session, designers.ann, "recheck.bpmn")
    broken = RECHECK.replace('value="recheck_decision"', 'value="no_such_form"')
    problems = save_draft(session, draft, designers.ann, broken, 1)
    assert [(p.rule, p.element_id) for p in problems] == [("form", "decide_recheck")]
    assert draft.problems == [problems[0].as_dict()] and draft.revision == 2
    with pytest.raises(DraftError, match="还有 1 个问题") as refused:
        submit(session, draft, designers.ann, 2)
    assert refused.value.problems[0].rule == "form"
    assert draft.state is DraftState.DRAFT


@pytest.mark.parametrize("content, words", [(XXE, "DOCTYPE"), (BILLION_LAUGHS, "DOCTYPE"), ("<x", "XML")])
def test_a_dangerous_or_broken_save_is_refused_and_nothing_changes(session: Session, designers: Designers,
                                                                   content: str, words: str) -> None:
    draft = open_draft(session, designers.ann, "recheck.bpmn")
    session.commit()
    with pytest.raises(DraftError, match=words):
        save_draft(session, draft, designers.ann, content, 1)
    session.rollback()
    assert draft.bpmn_xml == RECHECK and draft.revision == 1


def test_a_save_may_not_change_the_process_id(session: Session, designers: Designers) -> None:
    draft = open_draft(session, designers.ann, "recheck.bpmn")
    other = RECHECK.replace('id="recheck"', 'id="recheck2"').replace('processRef="recheck"', 'processRef="recheck2"')
    with pytest.raises(DraftError, match="流程标识必须保持为“recheck”"):
        save_draft(session, draft, designers.ann, other, 1)


def test_a_concurrent_edit_is_detected_and_the_later_save_refused(session: Session, designers: Designers) -> None:
    draft = open_draft(session, designers.ann, "recheck.bpmn")
    session.commit()
    save_draft(session, draft, designers.ann, renamed(RECHECK), 1)  # Ann saves first
    session.commit()
    with pytest.raises(StaleDraft, match="已被用户designer.ann于 .* 修改（第 2 版），您的修改没有保存") as stale:
        save_draft(session, draft, designers.bob, renamed(RECHECK, new='name="鲍勃的复核">'), 1)
    assert stale.value.field == "revision"
    session.rollback()
    assert 'name="二次复核"' in draft.bpmn_xml and draft.revision == 2


def test_uploads(session: Session, designers: Designers) -> None:
    with pytest.raises(DraftError, match="超过"):
        upload_draft(session, designers.ann, b"x" * (MAX_BPMN_BYTES + 1))
    with pytest.raises(DraftError, match="DOCTYPE") as refused:
        upload_draft(session, designers.ann, XXE.encode())
    assert refused.value.field == "file"
    with pytest.raises(DraftError, match="UTF-8"):
        upload_draft(session, designers.ann, "<a/>".encode("utf-16"))
    assert session.scalars(select(ProcessDraft)).all() == []
    new = upload_draft(session, designers.ann, sample().encode(), "新流程")
    assert (new.file_name, new.process_id, new.problems, new.note) == ("demo.bpmn", "demo", [], "新流程")
    replacing = upload_draft(session, designers.ann, renamed(RECHECK).encode())
    assert replacing.file_name == "recheck.bpmn"
    broken = upload_draft(session, designers.ann, sample(called="nowhere").encode())
    assert [p["rule"] for p in broken.problems] == ["call"]  # stored, shown, never deployable


def test_four_eyes_approval_with_a_comment(session: Session, designers: Designers) -> None:
    draft = open_draft(session, designers.ann, "recheck.bpmn")
    save_draft(session, draft, designers.bob, renamed(RECHECK), draft.revision)  # Bob edits too
    with pytest.raises(DraftError, match="不在审核中"):
        review(session, draft, designers.cat, True, "同意", draft.revision)
    submit(session, draft, designers.ann, draft.revision)
    assert draft.state is DraftState.IN_REVIEW
    with pytest.raises(DraftError, match="不能修改（请先撤回审核）"):
        save_draft(session, draft, designers.ann, RECHECK, draft.revision)
    for someone in (designers.ann, designers.bob):
        with pytest.raises(DraftError, match="不能审核自己编写或修改过的草稿") as refused:
            review(session, draft, someone, True, "同意", draft.revision)
        assert refused.value.field == "reviewer"
    with pytest.raises(DraftError, match="请填写审核意见"):
        review(session, draft, designers.cat, True, "  ", draft.revision)
    with pytest.raises(StaleDraft):
        review(session, draft, designers.cat, True, "同意", draft.revision - 1)
    review(session, draft, designers.cat, True, "名称更清楚，同意", draft.revision)
    assert (draft.state, draft.reviewer_id, draft.review_comment) == \
        (DraftState.APPROVED, designers.cat.id, "名称更清楚，同意")


def test_a_rejected_draft_is_edited_and_submitted_again(session: Session, designers: Designers) -> None:
    draft = open_draft(session, designers.ann, "recheck.bpmn")
    submit(session, draft, designers.ann, draft.revision)
    review(session, draft, designers.cat, False, "名称不对", draft.revision)
    assert draft.state is DraftState.REJECTED and draft.review_comment == "名称不对"
    with pytest.raises(DraftError, match="须经另一位流程设计员批准"):
        deploy(session, draft, designers.ann, draft.revision)
    save_draft(session, draft, designers.ann, renamed(RECHECK), draft.revision)
    assert draft.state is DraftState.DRAFT
    submit(session, draft, designers.ann, draft.revision)
    withdraw(session, draft, designers.ann, draft.revision)
    assert draft.state is DraftState.DRAFT and draft.reviewer_id is None
    discard(session, draft, designers.ann, draft.revision)
    assert draft.state is DraftState.DISCARDED
    with pytest.raises(DraftError, match="不能修改"):
        save_draft(session, draft, designers.ann, RECHECK, draft.revision)


def test_deploy_needs_approval_and_makes_a_new_immutable_version(session: Session, designers: Designers,
                                                               clock: ManualClock) -> None:
    calendar_years.reset_calendar()
    district = District(session)
    before = open_case(session, bad_rating(session, district, clock))
    draft = open_draft(session, designers.ann, "recheck.bpmn", "复核改名")
    save_draft(session, draft, designers.ann, renamed(RECHECK), draft.revision)
    submit(session, draft, designers.ann, draft.revision)
    with pytest.raises(DraftError, match="须经另一位流程设计员批准后才能部署"):
        deploy(session, draft, designers.ann, draft.revision)
    review(session, draft, designers.cat, True, "同意", draft.revision)
    version = deploy(session, draft, designers.ann, draft.revision)
    session.commit()
    v1 = session.scalar(select(Deployment).where(Deployment.version == 1))
    assert (version.version, version.note, version.deployed_by) == (2, "复核改名", "designer.ann")
    assert version.bpmn_files["recheck.bpmn"] == renamed(RECHECK)
    assert version.bpmn_files["bad_review.bpmn"] == v1.bpmn_files["bad_review.bpmn"]
    assert v1.bpmn_files["recheck.bpmn"] == RECHECK  # the old version is untouched
    assert (draft.state, draft.deployment_id) == (DraftState.DEPLOYED, version.id)
    assert current_deployment(session).version == 2
    after = open_case(session, bad_rating(session, district, clock))
    session.commit()
    assert before.instance.deployment.version == 1  # running instances stay on their version
    assert after.instance.deployment.version == 2  # new cases start on the newest
    with pytest.raises(DraftError, match="已部署"):
        deploy(session, draft, designers.ann, draft.revision)


def test_deploy_refuses_to_undo_a_change_deployed_meanwhile(session: Session, designers: Designers) -> None:
    first = open_draft(session, designers.ann, "recheck.bpmn")
    second = open_draft(session, designers.bob, "recheck.bpmn")
    save_draft(session, first, designers.ann, renamed(RECHECK), first.revision)
    deploy(session, approved(session, designers, first), designers.ann, first.revision)
    save_draft(session, second, designers.ann, renamed(RECHECK, new='name="再次复核">'), second.revision)
    with pytest.raises(DraftError, match="草稿基于版本 1，而之后部署的版本 2 也修改了 recheck.bpmn"):
        deploy(session, approved(session, designers, second), designers.ann, second.revision)
    # A draft of another file deploys on top of version 2 and keeps its change.
    third = open_draft(session, designers.bob, "appeal.bpmn")
    xml = third.bpmn_xml.replace('name="提出申诉">', 'name="提出申诉申请">', 1)
    assert xml != third.bpmn_xml
    save_draft(session, third, designers.ann, xml, third.revision)
    v3 = deploy(session, approved(session, designers, third), designers.ann, third.revision)
    assert v3.bpmn_files["recheck.bpmn"] == renamed(RECHECK) and v3.bpmn_files["appeal.bpmn"] == xml


def test_deploy_of_an_unchanged_draft_is_refused(session: Session, designers: Designers) -> None:
    draft = approved(session, designers, open_draft(session, designers.ann, "recheck.bpmn"))
    with pytest.raises(DraftError, match="完全相同"):
        deploy(session, draft, designers.ann, draft.revision)


def test_form_definitions_are_edited_with_the_draft(session: Session, designers: Designers) -> None:
    draft = open_draft(session, designers.ann, "recheck.bpmn")
    uses_new_form = RECHECK.replace('value="recheck_decision"', 'value="recheck_note"')
    problems = save_draft(session, draft, designers.ann, uses_new_form, draft.revision)
    assert [p.rule for p in problems] == ["form"]
    definition = {"name": "recheck_note", "title": "复核意见",
                  "fields": [{"name": "recheck_upheld", "label": "维持原决定", "type": "boolean", "required": True}]}
    for text, words in (("{", "表单定义有误"), (json.dumps({**definition, "name": "other"}), "name 必须是“recheck_note”"),
                        (json.dumps({**definition, "fields": []}), "fields")):
        with pytest.raises(DraftError, match=words) as refused:
            save_form(session, draft, designers.ann, "recheck_note", text, draft.revision)
        assert refused.value.field == "definition"
    with pytest.raises(StaleDraft):
        save_form(session, draft, designers.ann, "recheck_note", json.dumps(definition), draft.revision - 1)
    save_form(session, draft, designers.ann, "recheck_note", json.dumps(definition), draft.revision)
    assert draft.problems == [] and draft.form_files == {"recheck_note": definition}
    version = deploy(session, approved(session, designers, draft), designers.ann, draft.revision)
    assert version.form_files["recheck_note"] == definition and "recheck_decision" in version.form_files


def test_an_uploaded_new_process_is_deployed_next_to_the_others(session: Session, designers: Designers) -> None:
    draft = upload_draft(session, designers.ann, sample().encode())
    version = deploy(session, approved(session, designers, draft), designers.bob, draft.revision)
    assert sorted(version.bpmn_files) == ["appeal.bpmn", "bad_review.bpmn", "demo.bpmn", "recheck.bpmn"]
    assert draft.deployed_by_id == designers.bob.id


def test_deploy_shipped_will_not_silently_undo_a_reviewed_version(app, session: Session,
                                                                   designers: Designers) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["bpmn", "deploy-shipped"]).exit_code == 0  # nothing reviewed yet: fine
    draft = open_draft(session, designers.ann, "recheck.bpmn", "复核改名")
    save_draft(session, draft, designers.ann, renamed(RECHECK), draft.revision)
    deployed = deploy(session, approved(session, designers, draft), designers.ann, draft.revision)
    session.commit()
    refused = runner.invoke(args=["bpmn", "deploy-shipped"])
    assert refused.exit_code == 2 and f"version {deployed.version} was deployed from a reviewed draft" in refused.output
    assert current_deployment(session).version == deployed.version
    forced = runner.invoke(args=["bpmn", "deploy-shipped", "--force", "--note", "revert to the shipped files"])
    assert forced.exit_code == 0 and current_deployment(session).version == deployed.version + 1
