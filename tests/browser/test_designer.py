"""The process designer in a real browser (issue 7): the bpmn-js Modeler with its properties
panel (bundled by ``make install``) under the site's Content-Security-Policy; a designer
changes a task's name, saves and sees the validation result; a second designer approves; the
new version is deployed."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Role, User
from workflows.tables import Deployment

from ..app import factories
from .conftest import District, screenshot, sign_in

MODELER = os.path.join(os.path.dirname(__file__), "..", "..", "app", "static", "vendor", "designer", "modeler.js")
pytestmark = pytest.mark.skipif(not os.path.exists(MODELER), reason="the modeler is not built: run `make install`")


def in_thread(work: Callable[[], object]) -> object:
    """Database work outside Playwright's event loop thread (Flask's app context teardown
    refuses to run inside a running event loop)."""
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(work()))
    thread.start()
    thread.join(60)
    assert result, "the set-up failed (see the log)"
    return result[0]


def designers(district: District) -> None:
    with district.app.app_context():
        session = db.session
        for name in ("designer.one", "designer.two"):
            if session.scalar(select(User).where(User.username == name)) is None:
                factories.user(session, name, [Role.DESIGNER])
        session.commit()


def newest_version(district: District) -> tuple[int, str]:
    with district.app.app_context():
        newest = db.session.scalar(select(Deployment).order_by(Deployment.version.desc()).limit(1))
        return newest.version, newest.bpmn_files["recheck.bpmn"]


def watch(page: object) -> list[str]:
    """Script errors, Content-Security-Policy violations and failed loads of the page."""
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text)  # type: ignore[attr-defined]
            if message.type == "error" and not message.text.startswith("Failed to load resource") else None)
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}")  # type: ignore[attr-defined]
            if response.status >= 400 and not response.url.endswith("/favicon.ico") else None)
    page.on("pageerror", lambda error: problems.append(str(error)))  # type: ignore[attr-defined]
    return problems


def test_edit_save_validate_approve_and_deploy(district: District, new_page: object) -> None:
    in_thread(lambda: designers(district))
    page = new_page()
    problems = watch(page)
    sign_in(page, district, "designer.one")
    page.goto(f"{district.url}/designer/")
    recheck = page.locator("section#process-recheck\\.bpmn")
    recheck.locator("input[name=note]").fill("复核任务改名")
    recheck.get_by_role("button", name="基于最新版本新建草稿").click()
    page.wait_for_selector("#designer-editor[data-ready=true]")
    assert "已加载，可编辑" in page.locator("#editor-status").inner_text()

    # Select the user task and empty its form in the properties panel: the save reports it.
    page.locator('g.djs-element[data-element-id="decide_recheck"]').click()
    page.wait_for_selector("[data-group-id='group-hcp-engine']")
    if not page.locator("select[name='hcp-form']").is_visible():
        page.locator("[data-group-id='group-hcp-engine'] .bio-properties-panel-group-header").click()
    page.select_option("select[name='hcp-form']", "")
    page.click("#save-draft")
    page.wait_for_selector("#problems li.problem[data-element='decide_recheck'][data-rule='form']")
    assert "有 1 个问题" in page.locator("#editor-status").inner_text()
    assert page.locator('g.djs-element.hcp-problem[data-element-id="decide_recheck"]').count() == 1
    badge = page.locator(".djs-overlays[data-container-id='decide_recheck'] .hcp-problem-badge")
    assert badge.inner_text() == "1" and "缺少 form 属性" in badge.get_attribute("title")
    screenshot(page, "designer-problem")

    # Put the form back and change the task's name: the save passes validation.
    page.select_option("select[name='hcp-form']", "recheck_decision")
    name = page.locator("#bio-properties-panel-name")
    if not name.is_visible():
        page.locator("[data-group-id='group-general'] .bio-properties-panel-group-header").click()
    name.fill("复核（二次审核）")
    name.press("Tab")
    page.click("#save-draft")
    page.wait_for_selector("#problems li.ok")
    assert "校验通过" in page.locator("#editor-status").inner_text()
    assert page.locator("g.djs-element.hcp-problem").count() == 0 and page.locator(".hcp-problem-badge").count() == 0
    screenshot(page, "designer-saved")
    page.get_by_role("button", name="提交审核").click()
    page.wait_for_load_state()
    assert "已提交审核" in page.locator(".flash").inner_text()
    draft_url = page.url

    # The author cannot approve; a second designer can, with a comment.
    assert page.locator("form.review-form").count() == 0
    reviewer = new_page()
    problems += watch(reviewer)
    sign_in(reviewer, district, "designer.two")
    reviewer.goto(draft_url)
    reviewer.wait_for_selector("#designer-editor[data-ready=true]")
    reviewer.fill("form.review-form textarea[name=comment]", "名称更清楚，同意上线")
    reviewer.get_by_role("button", name="批准").click()
    reviewer.wait_for_load_state()
    assert "已批准，可以部署" in reviewer.locator(".flash").inner_text()

    before, _ = in_thread(lambda: newest_version(district))  # type: ignore[misc]
    page.goto(draft_url)
    page.get_by_role("button", name="部署").click()
    page.wait_for_load_state()
    assert f"已部署为版本 {before + 1}" in page.locator(".flash").inner_text()
    version, xml = in_thread(lambda: newest_version(district))  # type: ignore[misc]
    assert version == before + 1 and 'name="复核（二次审核）"' in xml
    page.goto(f"{district.url}/designer/diff?file=recheck.bpmn&old={before}&new={version}")
    page.wait_for_selector("#diff-diagrams[data-ready=true]")
    assert page.locator('#diagram-new g.djs-element.hcp-changed[data-element-id="decide_recheck"]').count() == 1
    screenshot(page, "designer-diff")
    assert not problems, "\n".join(dict.fromkeys(problems))
