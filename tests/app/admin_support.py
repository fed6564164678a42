"""Helpers of the administration page tests: sign in, post a form with its CSRF token,
read the error shown at one field."""

from __future__ import annotations

import html
import re

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from . import factories
from .conftest import csrf_token

_FIELD_BLOCK = re.compile(r'<(?:div|fieldset) class="field[^"]*">(.*?)</(?:div|fieldset)>', re.S)
_ERROR = re.compile(r'<p class="error">(.*?)</p>', re.S)


def sign_in(client: FlaskClient, username: str) -> None:
    response = client.post("/login", data={"username": username, "password": factories.PASSWORD,
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 302, response.get_data(as_text=True)[-600:]


def post_form(client: FlaskClient, path: str, data: dict[str, object], *, form_page: str | None = None) -> TestResponse:
    """Post ``data`` to ``path`` with the CSRF token of the form on ``form_page`` (default: path)."""
    return client.post(path, data={**data, "csrf_token": csrf_token(client, form_page or path)})


def field_errors(page: str, name: str) -> list[str]:
    """The error messages shown in the block of the field named ``name``."""
    for block in _FIELD_BLOCK.findall(page):
        if f'name="{name}"' in block:
            return [html.unescape(e.strip()) for e in _ERROR.findall(block)]
    raise AssertionError(f"no field {name} on the page")


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)
