"""``hcp users``: create, roles, activate/deactivate, list, personal API tokens; bad input
in one line with exit status 2."""

from __future__ import annotations

from click.testing import Result
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Role, User
from app.services import user_tokens
from app.services.accounts import authenticate

from . import factories


def hcp(app: Flask, *args: str, input: str | None = None) -> Result:
    return app.test_cli_runner().invoke(args=["users", *args], input=input)


def one_error(result: Result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def fetch(session: Session, username: str) -> User:
    session.expire_all()
    user = session.scalar(select(User).where(User.username == username))
    assert user is not None
    return user


def test_create_with_department_roles_email_and_password_from_stdin(app: Flask, session: Session) -> None:
    dept = factories.department(session, "新建区市场监督管理局")
    result = hcp(app, "create", "Zhang.San", "--name", "张三", "--department", dept.credit_code.lower(),
                 "--role", "handler", "--role", "lead", "--email", "zs@example.gov.cn", "--password-stdin",
                 input="Strong-pass-1\n")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "created zhang.san: handler（部门经办人）, lead（部门负责人）"
    user = fetch(session, "zhang.san")
    assert user.display_name == "张三" and user.department_id == dept.id and user.email == "zs@example.gov.cn"
    assert user.roles == {Role.HANDLER, Role.LEAD}
    assert authenticate(session, "zhang.san", "Strong-pass-1") is not None


def test_create_prompts_for_the_password_twice(app: Flask, session: Session) -> None:
    result = hcp(app, "create", "li.si", "--name", "李四", "--role", "auditor", input="Strong-pass-2\nStrong-pass-2\n")
    assert result.exit_code == 0, result.output
    assert "Strong-pass-2" not in result.output
    assert fetch(session, "li.si").roles == {Role.AUDITOR}


def test_create_refuses_bad_input_in_one_line(app: Flask, session: Session) -> None:
    factories.user(session, "taken.name", [Role.AUDITOR])
    base = ["--name", "王五", "--password-stdin"]
    cases = [
        (["taken.name", "--role", "auditor", *base], "Strong-pass-3\n", "Error: username: 用户名 taken.name 已存在"),
        (["wang.wu", "--role", "handler", *base], "Strong-pass-3\n", "Error: --department: 部门经办人必须属于一个部门"),
        (["wang.wu", "--role", "auditor", *base], "short\n", "Error: password: 密码至少8位"),
        (["wang.wu", "--role", "auditor", "--email", "not-mail", *base], "Strong-pass-3\n",
         "Error: --email: 邮箱格式不正确"),
        (["wang.wu", "--role", "auditor", "--department", "NOSUCHCODE", *base], "Strong-pass-3\n",
         "Error: --department: no department with the credit code NOSUCHCODE"),
        (["9bad", "--role", "auditor", *base], "Strong-pass-3\n", "Error: username: 用户名须以小写字母开头"),
    ]
    for args, stdin, expected in cases:
        assert one_error(hcp(app, "create", *args, input=stdin)).startswith(expected), args
    assert session.scalar(select(User).where(User.username == "wang.wu")) is None


def test_create_refuses_an_unknown_role(app: Flask, session: Session) -> None:
    result = hcp(app, "create", "zhao.liu", "--name", "赵六", "--role", "king", "--password-stdin", input="x\n")
    assert result.exit_code == 2 and "Invalid value for '--role'" in result.output


def test_roles_shows_adds_and_removes(app: Flask, session: Session) -> None:
    dept = factories.department(session)
    factories.user(session, "role.user", [Role.HANDLER], dept)
    assert hcp(app, "roles", "role.user").output.strip() == "role.user: handler（部门经办人）"
    result = hcp(app, "roles", "role.user", "--add", "lead", "--add", "verifier", "--remove", "handler")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "role.user: lead（部门负责人）, verifier（审核员）"
    assert fetch(session, "role.user").roles == {Role.LEAD, Role.VERIFIER}


def test_roles_refuses_bad_changes(app: Flask, session: Session) -> None:
    factories.user(session, "role.bad", [Role.AUDITOR])
    assert one_error(hcp(app, "roles", "role.bad", "--add", "handler")) == \
        "Error: --department: 部门经办人必须属于一个部门"
    assert one_error(hcp(app, "roles", "role.bad", "--remove", "auditor")) == "Error: --role: 至少需要一个角色"
    assert one_error(hcp(app, "roles", "role.bad", "--add", "admin", "--remove", "admin")) == \
        "Error: --add and --remove both name admin"
    assert one_error(hcp(app, "roles", "nobody.here")) == "Error: no user named nobody.here"
    assert fetch(session, "role.bad").roles == {Role.AUDITOR}


def test_deactivate_activate_and_list(app: Flask, session: Session) -> None:
    dept = factories.department(session, "列表测试局")
    factories.user(session, "list.user", [Role.HANDLER], dept)
    assert hcp(app, "deactivate", "list.user").output.strip() == "list.user: deactivated"
    assert not fetch(session, "list.user").active
    listing = hcp(app, "list")
    line = next(line for line in listing.output.splitlines() if line.startswith("list.user "))
    assert "列表测试局" in line and "handler" in line and "deactivated" in line and "last login never" in line
    assert hcp(app, "activate", "list.user").output.strip() == "list.user: active"
    assert fetch(session, "list.user").active
    assert one_error(hcp(app, "activate", "ghost.user")) == "Error: no user named ghost.user"


def test_token_printed_once_listed_and_revoked(app: Flask, session: Session) -> None:
    factories.user(session, "cli.token", [Role.HANDLER], factories.department(session))
    created = hcp(app, "token", "cli.token", "--name", "移动端")
    assert created.exit_code == 0, created.output
    header, token = created.output.strip().splitlines()
    assert token.startswith("hcpu_") and "shown only now" in header and "移动端" in header
    user = fetch(session, "cli.token")
    assert user_tokens.authenticate(session, token) is user
    listing = hcp(app, "tokens", "cli.token").output
    assert token[:12] + "…" in listing and "移动端" in listing and "active" in listing and token not in listing
    revoked = hcp(app, "revoke-token", "cli.token", token[:12])
    assert revoked.exit_code == 0 and revoked.output.strip() == f"{token[:12]}… of cli.token: revoked"
    assert "revoked 20" in hcp(app, "tokens", "cli.token").output
    assert user_tokens.authenticate(session, token) is None


def test_token_commands_refuse_bad_input(app: Flask, session: Session) -> None:
    user = factories.user(session, "cli.badtoken", [Role.AUDITOR])
    assert one_error(hcp(app, "token", "no.such.user")) == "Error: no user named no.such.user"
    assert one_error(hcp(app, "token", "cli.badtoken", "--name", " ")) == "Error: name: 令牌名称须为1-64个字符"
    assert one_error(hcp(app, "revoke-token", "cli.badtoken", "hcpu_nothing")).startswith(
        "Error: 用户 cli.badtoken 没有前缀为 hcpu_nothing 的令牌")
    user.active = False
    session.flush()
    assert one_error(hcp(app, "token", "cli.badtoken")) == "Error: 用户 cli.badtoken 已停用，不能创建令牌"
