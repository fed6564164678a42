"""Forms of the administration pages. Lengths and required fields are checked here; the
rules (roles need a department, USCC check digit, duplicates) live in the services."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (BooleanField, EmailField, PasswordField, SelectChoice, SelectField, SelectMultipleField,
                     StringField, SubmitField)
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..models import Department, ItemKind, Role

NO_DEPARTMENT = ""


class ChoiceField(SelectField):
    """A select whose value must be one of its choices, said in Chinese."""

    def pre_validate(self, form: FlaskForm) -> None:
        try:
            super().pre_validate(form)
        except ValidationError:
            raise ValidationError("请从列表中选择") from None


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: FlaskForm) -> None:
        try:
            super().pre_validate(form)
        except ValidationError:
            raise ValidationError("含有未知的选项") from None


def department_choices(departments: list[Department], *, optional: bool) -> list[SelectChoice]:
    first = SelectChoice(NO_DEPARTMENT, "（不属于部门）" if optional else "请选择")
    return [first] + [SelectChoice(str(d.id), d.name + ("" if d.active else "（已停用）")) for d in departments]


class UserForm(FlaskForm):
    display_name = StringField("姓名", validators=[DataRequired("请输入姓名"), Length(max=50, message="姓名不超过50个字")])
    email = EmailField("邮箱", validators=[Optional(), Length(max=254, message="邮箱过长")])
    phone = StringField("电话", validators=[Optional(), Length(max=20, message="电话号码不超过20位")])
    department = ChoiceField("所属部门", choices=[], default=NO_DEPARTMENT)
    roles = CheckboxesField("角色", choices=[SelectChoice(role.value, role.label) for role in Role],
                            validators=[DataRequired("请至少选择一个角色")])
    active = BooleanField("启用", default=True)
    submit = SubmitField("保存")


class NewUserForm(UserForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=64, message="用户名不超过64位")])
    password = PasswordField("初始密码", validators=[DataRequired("请输入初始密码"), Length(max=256)])
    confirm = PasswordField("再次输入密码", validators=[DataRequired("请再次输入密码"),
                                                   EqualTo("password", "两次输入的密码不一致")])
    submit = SubmitField("创建用户")


class ResetPasswordForm(FlaskForm):
    password = PasswordField("新密码", validators=[DataRequired("请输入新密码"), Length(max=256)])
    confirm = PasswordField("再次输入新密码", validators=[DataRequired("请再次输入新密码"),
                                                     EqualTo("password", "两次输入的密码不一致")])
    submit = SubmitField("重置密码")


class ActionForm(FlaskForm):
    """A button that changes something: only its CSRF token."""

    submit = SubmitField("确定")


class DepartmentForm(FlaskForm):
    name = StringField("名称", validators=[DataRequired("请输入名称"), Length(max=100, message="名称不超过100个字")])
    short_name = StringField("简称", validators=[DataRequired("请输入简称"), Length(max=30, message="简称不超过30个字")])
    credit_code = StringField("统一社会信用代码", validators=[DataRequired("请输入统一社会信用代码"),
                                                      Length(max=18, message="统一社会信用代码应为18位")])
    region_code = StringField("行政区划代码", validators=[Optional(), Length(max=6, message="行政区划代码应为6位数字")],
                              description="留空时取统一社会信用代码第3-8位")
    is_service_center = BooleanField("政务服务中心（审核员所在，负责申诉和复核）")
    active = BooleanField("启用", default=True)
    submit = SubmitField("保存")


class ItemForm(FlaskForm):
    code = StringField("事项编码", validators=[DataRequired("请输入事项编码"), Length(max=64, message="事项编码不超过64位")])
    name = StringField("事项名称", validators=[DataRequired("请输入事项名称"), Length(max=200, message="事项名称不超过200个字")])
    kind = ChoiceField("事项类型", choices=[SelectChoice(kind.value, kind.label) for kind in ItemKind])
    department = ChoiceField("办理部门", choices=[], default=NO_DEPARTMENT, validators=[DataRequired("请选择办理部门")])
    promised_days = StringField("承诺时限（工作日）", validators=[
        Optional(), Regexp(r"^[0-9]{1,3}$", message="承诺时限应为1-365个工作日")])
    active = BooleanField("启用", default=True)
    submit = SubmitField("保存")
