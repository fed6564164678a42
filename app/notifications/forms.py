from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SubmitField


class ReadForm(FlaskForm):
    """Marking one or all notifications read: nothing but the CSRF token."""

    submit = SubmitField("标为已读")
