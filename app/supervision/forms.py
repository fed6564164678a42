from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SubmitField, TextAreaField


class UrgeForm(FlaskForm):
    """督办. What the message must be is checked by ``services.supervision.urge``."""

    message = TextAreaField("督办意见")
    submit = SubmitField("督办")
