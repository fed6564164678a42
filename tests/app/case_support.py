"""Shared set-up of the case page, verifier queue, supervision and notification tests: a
district (from the case service tests), cases walked to a given task, signed-in clients."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app.models import Case, IdType, Notification, User
from app.services.cases import open_case
from workflows.clock import ManualClock

from . import factories
from .conftest import csrf_token
from .test_cases import CONTACTED, REPORTED, District, bad_rating, beijing, open_task, work  # noqa: F401

NAME, PHONE, ID_NO = "张三丰", "13812345678", "360102199001011234"
APPEAL = {"appeal_reason": "malicious", "appeal_explanation": "评价人与办件无关，系恶意差评",
          "evidence_note": "窗口监控记录"}


class UserClient(FlaskClient):
    """A test client whose requests each load their own user and CSRF token. The tests' app
    context is shared by all requests, and Flask-Login and Flask-WTF cache both in ``g``:
    without this, a second client would act as the user the first one signed in."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        g.pop("_login_user", None)
        g.pop("csrf_token", None)
        return super().open(*args, **kwargs)


def anonymous(app: Flask) -> FlaskClient:
    return UserClient(app, app.response_class, use_cookies=True)


def signed_in(app: Flask, username: str) -> FlaskClient:
    """A client of its own, signed in as ``username``."""
    client = anonymous(app)
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"username": username, "password": factories.PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302, f"{username} could not sign in"
    return client


def real_name_case(session: Session, district: District, clock: ManualClock, *, real_name: bool = True) -> Case:
    rating = bad_rating(session, district, clock, real_name=real_name)
    if real_name:
        rating.set_evaluator(name=NAME, phone=PHONE, id_type=IdType.RESIDENT_ID, id_no=ID_NO)
    case = open_case(session, rating)
    session.commit()
    return case


def case_in_appeal(session: Session, district: District, clock: ManualClock) -> Case:
    """An anonymous case whose appeal waits for a verifier's decision."""
    case = real_name_case(session, district, clock, real_name=False)
    work(session, case, "triage", district.h1, solved_on_spot=False)
    work(session, case, "rectify", district.h1, action="appeal")
    work(session, case, "file_appeal", district.h1, **APPEAL)
    return case


def notes_of(session: Session, user: User) -> list[Notification]:
    session.expire_all()
    return list(session.scalars(select(Notification).where(Notification.user_id == user.id)
                                .order_by(Notification.id)))


def at(text: str) -> datetime:
    return beijing(text)
