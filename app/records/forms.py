from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, SubmitField


class RetryForm(FlaskForm):
    submit = SubmitField("立即重试")


class ImportForm(FlaskForm):
    file = FileField("评价表文件（.csv 或 .xlsx）", validators=[FileRequired("请选择要导入的文件")])
    source = SelectField("评价来源", choices=[], validate_choice=True)
    dry_run = BooleanField("试运行（只校验，不保存）")
    submit = SubmitField("导入")
