"""Shared set-up of the desk tests (inbox, task page, task API): a district with two
departments and a service centre, its people, cases opened through the case service, and
signing in through the login form."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Case, Dimension, IdType, RatingDimension, Role, User
from app.services import calendar_years, case_tasks
from app.services.cases import open_case
from workflows.clock import ManualClock
from workflows.tables import HumanTask

from . import factories
from .conftest import csrf_token

BEIJING = timezone(timedelta(hours=8))
CONTACTED = {"contacted": True, "contact_method": "phone", "contacted_at": "2026-10-08T09:30:00+08:00",
             "citizen_request": "希望减少跑动次数", "problem_exists": True}
PHONE = "13812345678"


def beijing(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BEIJING)


class District:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.dept = factories.department(session, "新建区医疗保障局")
        self.other = factories.department(session, "新建区民政局")
        self.centre = factories.department(session, "新建区政务服务中心", service_center=True)
        self.h1 = factories.user(session, "yb.h1", [Role.HANDLER], self.dept)
        self.h2 = factories.user(session, "yb.h2", [Role.HANDLER], self.dept)
        self.lead = factories.user(session, "yb.lead", [Role.LEAD], self.dept)
        self.outsider = factories.user(session, "mz.h1", [Role.HANDLER], self.other)
        self.v1 = factories.user(session, "verifier.one", [Role.VERIFIER], self.centre)
        self.v2 = factories.user(session, "verifier.two", [Role.VERIFIER], self.centre)
        self.v_own = factories.user(session, "yb.verifier", [Role.VERIFIER], self.dept)
        self.supervisor = factories.user(session, "supervisor.one", [Role.SUPERVISOR])
        self.auditor = factories.user(session, "auditor.one", [Role.AUDITOR])
        self.admin = factories.user(session, "admin.one", [Role.ADMIN])

    def case(self, clock: ManualClock, *, real_name: bool = True, dept: object = None,
             dimensions: tuple[Dimension, ...] = (), comment: str | None = None) -> Case:
        rating = factories.rating(self.session, dept or self.dept)  # type: ignore[arg-type]
        rating.received_at = rating.evaluated_at = clock.now()
        rating.real_name = real_name
        if real_name:
            rating.set_evaluator(name="张三丰", phone=PHONE, id_type=IdType.RESIDENT_ID, id_no="360102199001011234")
        if comment is not None:
            rating.comment = comment
        for dimension in dimensions:
            self.session.add(RatingDimension(rating=rating, dimension=dimension))
        self.session.flush()
        case = open_case(self.session, rating)
        self.session.commit()
        return case

    def task(self, case: Case) -> HumanTask:
        tasks = self.session.scalars(select(HumanTask).where(HumanTask.instance_id == case.instance_id,
                                                             HumanTask.status == "ready")).all()
        assert len(tasks) == 1, [t.bpmn_id for t in tasks]
        return tasks[0]

    def work(self, case: Case, bpmn_id: str, user: User, **values: object) -> None:
        task = self.task(case)
        assert task.bpmn_id == bpmn_id
        case_tasks.complete(self.session, task.id, values, user)
        self.session.commit()

    def to_decide_appeal(self, case: Case) -> HumanTask:
        """Work the case from triage to the appeal decision (a verifier's task)."""
        self.work(case, "triage", self.h1, solved_on_spot=False)
        if case.rating.real_name:
            self.work(case, "contact_citizen", self.h1, **CONTACTED)
        self.work(case, "rectify", self.h1, action="appeal")
        self.work(case, "file_appeal", self.h1, appeal_reason="malicious", appeal_explanation="系恶意差评")
        return self.task(case)


@pytest.fixture
def district(session: Session) -> District:
    calendar_years.reset_calendar()
    return District(session)


def login(client: FlaskClient, user: User | str) -> None:
    username = user if isinstance(user, str) else user.username
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"username": username, "password": factories.PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def logout(client: FlaskClient) -> None:
    """Sign out through the navigation bar's form."""
    page = client.get("/", follow_redirects=True).get_data(as_text=True)
    match = CSRF.search(page)
    assert match, "no sign-out form"
    assert client.post("/logout", data={"csrf_token": match.group(1)}).status_code == 302


CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def page_token(client: FlaskClient, path: str = "/inbox") -> str:
    """A CSRF token of the signed-in session (from a page's form)."""
    page = client.get(path).get_data(as_text=True)
    match = CSRF.search(page)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


def text(response: object) -> str:
    return response.get_data(as_text=True)  # type: ignore[attr-defined]


__all__ = ["BEIJING", "CONTACTED", "PHONE", "District", "beijing", "district", "login",
           "logout", "page_token", "text"]


REPORTED = {"action": "report", "measures": "优化窗口排队流程", "result": "已整改并电话告知群众"}
DISSATISFIED_VISIT = {"visited": True, "visit_method": "phone", "citizen_satisfied": False}


def to_supervisor(district: District, case: Case) -> HumanTask:
    """Work a real-name case until the citizen stayed dissatisfied three times (supervisor decides)."""
    district.work(case, "triage", district.h1, solved_on_spot=False)
    district.work(case, "contact_citizen", district.h1, **CONTACTED)
    for _ in range(3):
        district.work(case, "rectify", district.h1, **REPORTED)
        district.work(case, "return_visit", district.h1, **DISSATISFIED_VISIT)
    return district.task(case)
