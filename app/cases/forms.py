from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SubmitField


class ClaimForm(FlaskForm):
    """Claiming a decision from the verifier queue: nothing but the CSRF token."""

    submit = SubmitField("认领")
