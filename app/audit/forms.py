from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, ValidationError


class VerifyForm(FlaskForm):
    submit = SubmitField("核验历史")


class ExportForm(FlaskForm):
    format = RadioField("格式", choices=[SelectChoice("pdf", "PDF（可打印）"), SelectChoice("json", "JSON")],
                        default="pdf")
    unmask = BooleanField("包含完整的评价人个人信息（仅审计员，须说明理由，记入审计日志）")
    reason = StringField("理由", validators=[Length(max=200, message="不超过200个字")])
    submit = SubmitField("导出案卷")

    def validate_reason(self, field: StringField) -> None:
        if self.unmask.data and not (field.data or "").strip():
            raise ValidationError("导出完整个人信息须说明理由")
