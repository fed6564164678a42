from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, SubmitField


class GenerateForm(FlaskForm):
    """Generate a month's bulletin. What the month must be is checked by the services."""

    month = StringField("月份（YYYY-MM）")
    regenerate = BooleanField("已有通报时重新生成（新版本）")
    submit = SubmitField("生成通报")
