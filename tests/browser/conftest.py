"""Browser tests: the real application served on loopback, driven by Playwright through
Debian's Chromium (``make test`` installs it; a browser download never works here).

One server per test run, on its own fresh database (SQLite, or PostgreSQL when
``HCP_TEST_DATABASE_URL`` is set), with a small district: two departments, their handlers
and lead, two verifiers, a supervisor and a rating source's API key. Screenshots go to
``test-artifacts/`` (``HCP_TEST_ARTIFACTS`` moves it).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from app import migrate
from app.extensions import db
from app.models import Channel, ItemKind, Role, ServiceItem
from app.services.api_keys import create_key

from ..app import factories
from ..app.conftest import make_app
from ..db_support import fresh_database

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("HCP_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
PASSWORD = factories.PASSWORD


@dataclass
class District:
    url: str
    app: Flask
    api_key: str
    item_code: str
    department_code: str


@pytest.fixture(scope="session")
def district(tmp_path_factory: pytest.TempPathFactory) -> Iterator[District]:
    with fresh_database(tmp_path_factory.mktemp("browser-db")) as url:
        app = make_app(url, tmp_path_factory.mktemp("browser-instance"))
        with app.app_context():
            migrate.upgrade(db.engine)
            session = db.session
            medical = factories.department(session, "新建区医疗保障局")
            tax = factories.department(session, "新建区税务局")
            item = ServiceItem(code="360112-YB-0001", name="异地就医备案", kind=ItemKind.PUBLIC_SERVICE,
                               department=medical)
            session.add(item)
            factories.user(session, "yibao.h1", [Role.HANDLER], medical)
            factories.user(session, "yibao.lead", [Role.LEAD], medical)
            factories.user(session, "shuiwu.verifier", [Role.VERIFIER], tax)
            factories.user(session, "shuiwu.verifier2", [Role.VERIFIER], tax)
            factories.user(session, "supervisor", [Role.SUPERVISOR])
            factories.user(session, "auditor", [Role.AUDITOR])
            _, key = create_key(session, "window-devices", Channel.WINDOW_DEVICE, "test",
                                datetime.now(timezone.utc))
            session.commit()
            district = District(url="", app=app, api_key=key, item_code=item.code,
                                department_code=medical.credit_code)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
        thread.start()
        district.url = f"http://127.0.0.1:{server.server_port}"
        try:
            yield district
        finally:
            server.shutdown()
            thread.join(10)
            with app.app_context():
                for engine in db.engines.values():
                    engine.dispose()


# Package scope: Playwright's sync API keeps an event loop running in the main thread while
# it lives; it must be gone before the tests of other packages run (asgiref, used by some of
# them, refuses to work in a thread with a running loop).
@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM}: `make test` installs it (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: object) -> Iterator[object]:
    """Opens pages in fresh browser contexts (one per person signed in), closed afterwards."""
    contexts = []

    def open_page(width: int = 1366, height: int = 900) -> object:
        context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": height})  # type: ignore[attr-defined]
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def screenshot(page: object, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def sign_in(page: object, district: District, username: str) -> None:
    page.goto(f"{district.url}/login")  # type: ignore[attr-defined]
    page.fill("#username", username)  # type: ignore[attr-defined]
    page.fill("#password", PASSWORD)  # type: ignore[attr-defined]
    page.click("input[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]
    assert "/login" not in page.url, f"{username} could not sign in"  # type: ignore[attr-defined]
