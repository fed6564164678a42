from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from ..extensions import db, login_manager
from ..models import User
from ..services.accounts import AccountError, AccountLocked, authenticate, change_password as change_own_password
from ..templating import local_time
from . import bp, throttle
from .audit import audit
from .forms import ChangePasswordForm, LoginForm, LogoutForm


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None


def _safe_next(target: str | None) -> str:
    """Only a path on this site, never an absolute URL (open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("main.home")


def _locked_message(until: datetime) -> str:
    return f"账户已临时锁定，请于 {local_time(until, '%H:%M')} 后再试"


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if request.method == "POST":
        throttle.refuse_if_exceeded()
    if form.validate_on_submit():
        try:
            user = authenticate(db.session, form.username.data, form.password.data)
        except AccountLocked as locked:
            audit("login_failed", actor=form.username.data[:64], detail={"reason": "locked"})
            db.session.commit()  # the failure that locked the account is kept
            throttle.count_failure()
            form.password.errors.append(_locked_message(locked.until))
        else:
            if user is not None:
                audit("login", actor=user)
            else:
                audit("login_failed", actor=form.username.data[:64], detail={"reason": "wrong_password"})
            db.session.commit()  # a success, or one more counted failure
            if user is not None:
                login_user(user, remember=form.remember.data)
                return redirect(_safe_next(request.args.get("next")))
            throttle.count_failure()
            form.password.errors.append("用户名或密码错误")
    return render_template("auth/login.html", form=form)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> str | Response:
    form = ChangePasswordForm()
    if request.method == "POST":
        throttle.refuse_if_exceeded()
    if form.validate_on_submit():
        try:
            change_own_password(current_user._get_current_object(), form.current_password.data, form.password.data)
        except AccountError as error:
            if error.field == "current_password":
                throttle.count_failure()  # guessing the password through a left-open session
            getattr(form, error.field, form.password).errors.append(error.message)
        else:
            audit("password_changed")
            db.session.commit()
            flash("密码已修改，下次登录请使用新密码。", "success")
            return redirect(url_for("main.home"))
    return render_template("auth/change_password.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    if LogoutForm().validate_on_submit():
        audit("logout")
        db.session.commit()
        logout_user()
        flash("您已安全退出。", "info")
    return redirect(url_for("auth.login"))


@bp.app_context_processor
def _inject_logout_form() -> dict[str, LogoutForm]:
    return {"logout_form": LogoutForm()}
