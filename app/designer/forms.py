"""The designer's forms; every one carries the CSRF token."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import Optional

from ..services.process_drafts import MAX_COMMENT


class NewDraftForm(FlaskForm):
    file_name = HiddenField()
    note = StringField("变更说明", render_kw={"maxlength": 200, "placeholder": "例如：联系群众前增加预警"})


class UploadForm(FlaskForm):
    file = FileField("BPMN 文件", render_kw={"accept": ".bpmn,.xml,application/xml,text/xml"})
    note = StringField("变更说明", render_kw={"maxlength": 200})


class DraftActionForm(FlaskForm):
    """Submit, withdraw, discard, deploy: the revision the designer was looking at."""

    revision = IntegerField(validators=[Optional()])


class ReviewForm(FlaskForm):
    revision = IntegerField(validators=[Optional()])
    comment = TextAreaField("审核意见", render_kw={"maxlength": MAX_COMMENT, "rows": 3, "required": True})


class FormDefinitionForm(FlaskForm):
    revision = IntegerField(validators=[Optional()])
    name = StringField("表单名称", render_kw={"maxlength": 64, "pattern": "[a-z][a-z0-9_]*"})
    definition = TextAreaField("表单定义（JSON）", render_kw={"rows": 18, "spellcheck": "false"})


class MigrateForm(FlaskForm):
    instance_id = IntegerField(validators=[Optional()])
