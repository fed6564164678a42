"""The case page in a real browser: the bpmn-js viewer (installed by ``make install``)
draws the case's diagram under the site's Content-Security-Policy and marks the path."""

from __future__ import annotations

import os
import threading
from datetime import datetime, timezone
from collections.abc import Callable

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Department, Level, ServiceItem, User
from app.services import case_tasks
from app.services.cases import open_case
from workflows.tables import HumanTask

from ..app import factories
from .conftest import District, screenshot, sign_in

VIEWER = os.path.join(os.path.dirname(__file__), "..", "..", "app", "static", "vendor", "bpmn-js",
                      "bpmn-viewer.production.min.js")


@pytest.mark.skipif(not os.path.exists(VIEWER), reason="bpmn-js is not installed: run `make install`")
def open_case_at_contact(district: District) -> str:
    """A case whose triage is done (its contact task open); returns its number."""
    with district.app.app_context():
        session = db.session
        medical = session.scalar(select(Department).where(Department.name == "新建区医疗保障局"))
        rating = factories.rating(session, medical, level=Level.VERY_DISSATISFIED)
        rating.service_item = session.scalar(select(ServiceItem).where(ServiceItem.code == district.item_code))
        rating.real_name = True
        rating.received_at = rating.evaluated_at = datetime.now(timezone.utc)  # the server runs on real time
        case = open_case(session, rating)
        session.commit()
        triage = session.scalar(select(HumanTask).where(HumanTask.instance_id == case.instance_id))
        handler = session.scalar(select(User).where(User.username == "yibao.h1"))
        case_tasks.complete(session, triage.id, {"solved_on_spot": False}, handler)
        session.commit()
        return case.case_no


def in_thread(work: Callable[[], str]) -> str:
    """Run ``work`` outside the thread where Playwright's event loop runs (Flask's app
    context teardown refuses to run inside a running event loop)."""
    result: list[str] = []
    thread = threading.Thread(target=lambda: result.append(work()))
    thread.start()
    thread.join(60)
    assert result, "the set-up failed (see the log)"
    return result[0]


@pytest.mark.skipif(not os.path.exists(VIEWER), reason="bpmn-js is not installed: run `make install`")
def test_the_case_page_draws_the_diagram_with_the_path_marked(district: District, new_page: object) -> None:
    case_no = in_thread(lambda: open_case_at_contact(district))
    page = new_page()
    problems: list[str] = []
    # Script errors and Content-Security-Policy violations; failed loads are checked by URL
    # below (the browser's own request for /favicon.ico is not the page's).
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource") else None)
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
            if response.status >= 400 and not response.url.endswith("/favicon.ico") else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in(page, district, "yibao.h1")
    page.goto(f"{district.url}/cases/{case_no}")
    page.wait_for_selector("#case-diagram[data-ready=true]")
    assert page.locator("#case-diagram section.diagram").count() == 1
    done = page.locator('g.djs-element.hcp-completed[data-element-id="triage"]')
    active = page.locator('g.djs-element.hcp-active[data-element-id="contact_citizen"]')
    assert done.count() == 1 and active.count() == 1
    assert page.locator("g.djs-element.hcp-overdue").count() == 0
    assert not problems, problems
    screenshot(page, "case-page")
    page.emulate_media(media="print")
    assert not page.locator("header.topbar").is_visible() and not page.locator("#print-case").is_visible()
