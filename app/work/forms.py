"""The desk's own forms (a task's form is built from its definition: app.forms.dynamic)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import InputRequired

from ..services.case_notes import MAX_COMMENT_LENGTH
from ..services.saved_filters import MAX_NAME


class ActionForm(FlaskForm):
    """A button that changes something (claim, unclaim, delete): only the CSRF token."""


class ReassignForm(FlaskForm):
    to = IntegerField("转派给", validators=[InputRequired("请选择转派对象")])


class CommentForm(FlaskForm):
    body = TextAreaField("办理意见", render_kw={"maxlength": MAX_COMMENT_LENGTH, "rows": 3})


class EvidenceForm(FlaskForm):
    file = FileField("证明材料")


class SavedFilterForm(FlaskForm):
    name = StringField("筛选名称", render_kw={"maxlength": MAX_NAME})
    shared = BooleanField("共享给本部门")
