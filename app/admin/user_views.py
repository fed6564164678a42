"""Users: list with search, create, edit profile/department/roles/state, reset a password,
revoke personal API tokens."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from workflows.clock import current_clock

from ..auth.audit import audit
from ..extensions import db
from ..models import Department, Role, User
from ..services import account_admin, user_tokens
from ..services.accounts import AccountError
from ..services.admin_lists import ListQuery
from . import bp
from .forms import ActionForm, NewUserForm, ResetPasswordForm, UserForm, department_choices


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _with_departments(form: UserForm, user: User | None = None) -> UserForm:
    departments = account_admin.departments_for_choice(db.session, [user.department_id] if user else [])
    form.department.choices = department_choices(departments, optional=True)
    return form


def _profile(form: UserForm) -> account_admin.Profile:
    department = db.session.get(Department, int(form.department.data)) if form.department.data else None
    return account_admin.Profile(display_name=form.display_name.data or "", email=form.email.data,
                                 phone=form.phone.data, department=department,
                                 roles=frozenset(Role(value) for value in form.roles.data or []),
                                 active=bool(form.active.data))


def _show_error(form: UserForm | ResetPasswordForm, error: AccountError) -> None:
    field = getattr(form, error.field, None)
    if field is None:
        flash(error.message, "warning")
    else:
        field.errors = [*field.errors, error.message]


@bp.route("/users")
def users() -> str:
    query = ListQuery.parse(request.args)
    return render_template("admin/users.html", query=query, page=account_admin.users_page(db.session, query),
                           now=current_clock().now())


@bp.route("/users/new", methods=["GET", "POST"])
def new_user() -> str | Response:
    form = _with_departments(NewUserForm())
    if form.validate_on_submit():
        try:
            user = account_admin.create_account(db.session, form.username.data, form.password.data, _profile(form))
        except AccountError as error:
            _show_error(form, error)
        else:
            audit("user_created", target=user.username, detail={"roles": sorted(r.value for r in user.roles)})
            db.session.commit()
            flash(f"已创建用户 {user.username}。", "success")
            return redirect(url_for("admin.edit_user", user_id=user.id))
    return render_template("admin/user_new.html", form=form)


def _edit_page(user: User, form: UserForm, reset_form: ResetPasswordForm | None = None) -> str:
    return render_template("admin/user_edit.html", user=user, form=form,
                           reset_form=reset_form or ResetPasswordForm(formdata=None), action_form=ActionForm(),
                           tokens=user_tokens.tokens_of(db.session, user), now=current_clock().now())


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int) -> str | Response:
    user = _user_or_404(user_id)
    form = _with_departments(UserForm(obj=user) if request.method == "GET" else UserForm(), user)
    if request.method == "GET":
        form.department.data = str(user.department_id) if user.department_id else ""
        form.roles.data = sorted(role.value for role in user.roles)
    elif form.validate_on_submit():
        roles_before = sorted(role.value for role in user.roles)
        try:
            account_admin.update_account(db.session, user, _profile(form), current_user._get_current_object())
        except AccountError as error:  # checked before anything changed
            _show_error(form, error)
        else:
            roles_after = sorted(role.value for role in user.roles)
            audit("user_updated", target=user.username, detail={"active": user.active})
            if roles_after != roles_before:
                audit("roles_changed", target=user.username, detail={"before": roles_before, "after": roles_after})
            db.session.commit()
            flash(f"已保存用户 {user.username}。", "success")
            return redirect(url_for("admin.edit_user", user_id=user.id))
    return _edit_page(user, form)


@bp.route("/users/<int:user_id>/password", methods=["POST"])
def reset_password(user_id: int) -> str | Response:
    user = _user_or_404(user_id)
    reset_form = ResetPasswordForm()
    if reset_form.validate_on_submit():
        try:
            account_admin.reset_password(user, reset_form.password.data)
        except AccountError as error:
            _show_error(reset_form, error)
        else:
            audit("password_reset", target=user.username)
            db.session.commit()
            flash(f"已重置 {user.username} 的密码，并解除登录锁定。", "success")
            return redirect(url_for("admin.edit_user", user_id=user.id))
    form = _with_departments(UserForm(obj=user, formdata=None), user)
    form.department.data = str(user.department_id) if user.department_id else ""
    form.roles.data = sorted(role.value for role in user.roles)
    return _edit_page(user, form, reset_form)


@bp.route("/users/<int:user_id>/tokens/<int:token_id>/revoke", methods=["POST"])
def revoke_token(user_id: int, token_id: int) -> Response:
    user = _user_or_404(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        record = user_tokens.revoke_by_id(db.session, user, token_id)
    except user_tokens.TokenError:
        abort(404)
    audit("token_revoked", target=f"{user.username} {record.prefix}")
    db.session.commit()
    flash(f"已吊销令牌 {record.prefix}…（{record.name}）。", "success")
    return redirect(url_for("admin.edit_user", user_id=user.id))
