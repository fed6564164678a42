"""``hcp users``: accounts, roles and personal API tokens, for administrators."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..extensions import db
from ..models import Department, Role, User
from ..services import account_admin, user_tokens
from ..services.accounts import AccountError, create_user, set_roles
from ..services.audit_log import log_action
from . import CommandFailed, cli_actor

ROLE_CHOICE = click.Choice([role.value for role in Role])


def _user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise CommandFailed(f"no user named {username.strip().lower()}")
    return user


def _department(code: str | None) -> Department | None:
    if code is None:
        return None
    department = db.session.scalar(select(Department).where(Department.credit_code == code.strip().upper()))
    if department is None:
        raise CommandFailed(f"--department: no department with the credit code {code.strip().upper()}")
    return department


def _roles_line(user: User) -> str:
    roles = sorted(user.roles, key=lambda r: r.value)
    return f"{user.username}: " + (", ".join(f"{r.value}（{r.label}）" for r in roles) or "—")


def _failed(error: AccountError | user_tokens.TokenError) -> CommandFailed:
    if isinstance(error, AccountError):
        option = {"display_name": "--name", "roles": "--role", "department": "--department",
                  "email": "--email", "password": "password"}.get(error.field, error.field)
        return CommandFailed(f"{option}: {error.message}")
    return CommandFailed(str(error))


@click.group("users", help="User accounts, their roles and personal API tokens.")
def users_group() -> None:
    pass


@users_group.command("create", help="Create a user; the password is read from stdin or prompted for.")
@click.argument("username")
@click.option("--name", "display_name", required=True, help="The name shown in the UI (显示名).")
@click.option("--department", help="The department's unified social credit code (handlers and leads need one).")
@click.option("--role", "roles", multiple=True, required=True, type=ROLE_CHOICE, help="A role; repeat for several.")
@click.option("--email", help="E-mail address for notifications.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@with_appcontext
def create(username: str, display_name: str, department: str | None, roles: tuple[str, ...],
           email: str | None, password_stdin: bool) -> None:
    dept = _department(department)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        checked_email = account_admin.validate_email(email)
        user = create_user(db.session, username=username, display_name=display_name, password=password,
                           roles=[Role(r) for r in roles], department=dept)
        user.email = checked_email
    except AccountError as error:
        raise _failed(error) from None
    log_action(db.session, "user_created", actor=cli_actor(), target=user.username, detail={"roles": sorted(roles)})
    db.session.commit()
    click.echo(f"created {_roles_line(user)}")


@users_group.command("roles", help="Show a user's roles, or change them with --add / --remove.")
@click.argument("username")
@click.option("--add", "added", multiple=True, type=ROLE_CHOICE, help="Grant a role; repeatable.")
@click.option("--remove", "removed", multiple=True, type=ROLE_CHOICE, help="Take a role away; repeatable.")
@with_appcontext
def roles(username: str, added: tuple[str, ...], removed: tuple[str, ...]) -> None:
    user = _user(username)
    if added or removed:
        both = set(added) & set(removed)
        if both:
            raise CommandFailed(f"--add and --remove both name {', '.join(sorted(both))}")
        before = sorted(r.value for r in user.roles)
        try:
            set_roles(user, (user.roles | {Role(r) for r in added}) - {Role(r) for r in removed})
        except AccountError as error:
            raise _failed(error) from None
        after = sorted(r.value for r in user.roles)
        if after != before:
            log_action(db.session, "roles_changed", actor=cli_actor(), target=user.username,
                       detail={"before": before, "after": after})
        db.session.commit()
    click.echo(_roles_line(user))


def _set_active(username: str, active: bool) -> None:
    user = _user(username)
    user.active = active
    log_action(db.session, "user_activated" if active else "user_deactivated", actor=cli_actor(), target=user.username)
    db.session.commit()
    click.echo(f"{user.username}: {'active' if active else 'deactivated'}")


@users_group.command("deactivate", help="Stop a user from signing in or using tokens (nothing is deleted).")
@click.argument("username")
@with_appcontext
def deactivate(username: str) -> None:
    _set_active(username, False)


@users_group.command("activate", help="Let a deactivated user sign in again.")
@click.argument("username")
@with_appcontext
def activate(username: str) -> None:
    _set_active(username, True)


@users_group.command("list", help="List the users with their department and roles.")
@with_appcontext
def list_users() -> None:
    for user in db.session.scalars(select(User).order_by(User.username)):
        department = user.department.short_name if user.department else "—"
        roles = ",".join(sorted(r.value for r in user.roles))
        state = "active" if user.active else "deactivated"
        login = f"{user.last_login_at:%Y-%m-%d %H:%M}" if user.last_login_at else "never"
        click.echo(f"{user.username:<20} {user.display_name:<10} {department:<14} {roles:<24} {state:<11} "
                   f"last login {login}")


@users_group.command("token", help="Create a personal API token; it is printed once and never shown again.")
@click.argument("username")
@click.option("--name", default=user_tokens.DEFAULT_NAME, show_default=True, help="What the token is for.")
@with_appcontext
def token(username: str, name: str) -> None:
    user = _user(username)
    try:
        record, plaintext = user_tokens.create_token(db.session, user, name)
    except user_tokens.TokenError as error:
        raise _failed(error) from None
    log_action(db.session, "token_created", actor=cli_actor(), target=f"{user.username} {record.prefix}")
    db.session.commit()
    click.echo(f"API token {record.prefix}… for {user.username} ({record.name}) — shown only now, store it safely:")
    click.echo(plaintext)


@users_group.command("tokens", help="List a user's personal API tokens (never the tokens themselves).")
@click.argument("username")
@with_appcontext
def tokens(username: str) -> None:
    for record in user_tokens.tokens_of(db.session, _user(username)):
        used = f"{record.last_used_at:%Y-%m-%d %H:%M}" if record.last_used_at else "never"
        state = f"revoked {record.revoked_at:%Y-%m-%d %H:%M}" if record.revoked_at else "active"
        click.echo(f"{record.prefix}…  {record.name:<16} created {record.created_at:%Y-%m-%d %H:%M}  "
                   f"last used {used:<16}  {state}")


@users_group.command("revoke-token", help="Revoke a personal API token, named by its prefix.")
@click.argument("username")
@click.argument("prefix")
@with_appcontext
def revoke_token(username: str, prefix: str) -> None:
    user = _user(username)
    try:
        record = user_tokens.revoke(db.session, user, prefix)
    except user_tokens.TokenError as error:
        raise _failed(error) from None
    log_action(db.session, "token_revoked", actor=cli_actor(), target=f"{user.username} {record.prefix}")
    db.session.commit()
    click.echo(f"{record.prefix}… of {user.username}: revoked")
