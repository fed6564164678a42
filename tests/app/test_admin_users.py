"""Administration of users: only administrators; create, edit, reset password, tokens;
validation errors at the field; CSRF required."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from app.models import Department, Role, User
from app.services import accounts, user_tokens
from app.services.accounts import authenticate
from workflows.clock import ManualClock

from . import factories
from .admin_support import field_errors, post_form, sign_in, text


@pytest.fixture
def admin(session: Session, client: FlaskClient, clock: ManualClock) -> User:
    user = factories.user(session, "admin.one", [Role.ADMIN])
    sign_in(client, "admin.one")
    return user


@pytest.fixture
def dept(session: Session) -> Department:
    return factories.department(session, "新建区人力资源和社会保障局")


def new_user_data(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {"username": "new.handler", "display_name": "新经办人", "email": "h@example.gov.cn",
                               "phone": "0791-88880000", "department": "", "roles": ["auditor"], "active": "y",
                               "password": "Strong-pass-7", "confirm": "Strong-pass-7"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def reload(session: Session, user_id: int) -> User:
    session.expire_all()
    user = session.get(User, user_id)
    assert user is not None
    return user


def test_list_searches_and_pages(client: FlaskClient, session: Session, admin: User,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "generate_password_hash",
                        lambda password: generate_password_hash(password, method="pbkdf2:sha256:1"))
    for n in range(55):
        factories.user(session, f"zz.page{n:02d}", [Role.AUDITOR])
    factories.user(session, "find.me", [Role.SUPERVISOR])
    first = text(client.get("/admin/users?q=zz.page"))
    assert "共 55 条" in first and "第 1 / 2 页" in first and "zz.page00" in first and "zz.page54" not in first
    assert "find.me" not in first
    second = text(client.get("/admin/users?q=zz.page&page=2"))
    assert "zz.page54" in second and "zz.page00" not in second
    found = text(client.get("/admin/users?q=用户find"))  # the display name is searched too
    assert "find.me" in found and "效能监督员" in found and "共 1 条" in found
    assert "共 0 条" in text(client.get("/admin/users?q=%25_nothing"))
    assert client.get("/admin/users?page=abc").status_code == 200


def test_create_user(client: FlaskClient, session: Session, admin: User, dept: Department) -> None:
    response = post_form(client, "/admin/users/new", new_user_data(department=str(dept.id), roles=["handler", "lead"]))
    assert response.status_code == 302
    user = session.scalar(select(User).where(User.username == "new.handler"))
    assert user is not None and response.headers["Location"] == f"/admin/users/{user.id}"
    assert user.roles == {Role.HANDLER, Role.LEAD} and user.department_id == dept.id
    assert user.email == "h@example.gov.cn" and user.phone == "0791-88880000" and user.active
    assert authenticate(session, "new.handler", "Strong-pass-7") is user
    page = text(client.get(response.headers["Location"]))
    assert "已创建用户 new.handler" in page and "部门经办人" in page and "部门负责人" in page


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"username": "admin.one"}, "username", "用户名 admin.one 已存在"),
    ({"username": "Bad Name"}, "username", "用户名须以小写字母开头，3-64位，仅含小写字母、数字和 . _ -"),
    ({"roles": ["handler"]}, "department", "部门经办人必须属于一个部门"),
    ({"roles": []}, "roles", "请至少选择一个角色"),
    ({"password": "weakpass", "confirm": "weakpass"}, "password", "密码须同时包含字母和数字或符号"),
    ({"confirm": "Other-pass-7"}, "confirm", "两次输入的密码不一致"),
    ({"email": "not-an-address"}, "email", "邮箱格式不正确"),
    ({"phone": "call me"}, "phone", "电话号码只能包含数字和“-”，6-20位"),
    ({"display_name": ""}, "display_name", "请输入姓名"),
])
def test_create_user_errors_are_shown_at_the_field(client: FlaskClient, session: Session, admin: User,
                                                   changes: dict[str, object], field: str, message: str) -> None:
    before = session.scalars(select(User.username)).all()
    response = post_form(client, "/admin/users/new", new_user_data(**changes))
    assert response.status_code == 200
    assert message in field_errors(text(response), field)
    session.expire_all()
    assert session.scalars(select(User.username)).all() == before


def test_create_without_csrf_is_refused(client: FlaskClient, session: Session, admin: User) -> None:
    response = client.post("/admin/users/new", data=new_user_data())
    assert response.status_code == 400
    assert session.scalar(select(User).where(User.username == "new.handler")) is None


def test_edit_profile_department_roles_and_state(client: FlaskClient, session: Session, admin: User,
                                                 dept: Department) -> None:
    user = factories.user(session, "edit.me", [Role.AUDITOR])
    path = f"/admin/users/{user.id}"
    form = text(client.get(path))
    assert 'value="edit.me"' not in form or "edit.me" in form  # username shown, not editable
    assert 'name="username"' not in form
    response = post_form(client, path, {"display_name": "改名后", "email": "", "phone": "13800000000",
                                        "department": str(dept.id), "roles": ["handler", "verifier"]})
    assert response.status_code == 302 and response.headers["Location"] == path
    user = reload(session, user.id)
    assert user.display_name == "改名后" and user.phone == "13800000000" and user.email is None
    assert user.department_id == dept.id and user.roles == {Role.HANDLER, Role.VERIFIER}
    assert not user.active  # the box was not ticked
    page = text(client.get(path))
    assert "已保存用户 edit.me" in page and "已停用" in page
    assert "部门经办人" in page and "审核员" in page and "授予时间" in page


def test_edit_errors_change_nothing(client: FlaskClient, session: Session, admin: User, dept: Department) -> None:
    user = factories.user(session, "keep.me", [Role.HANDLER], dept)
    path = f"/admin/users/{user.id}"
    response = post_form(client, path, {"display_name": "新名字", "department": "", "roles": ["handler"],
                                        "active": "y"})
    assert response.status_code == 200
    assert field_errors(text(response), "department") == ["部门经办人必须属于一个部门"]
    user = reload(session, user.id)
    assert user.display_name == "用户keep.me" and user.department_id == dept.id and user.roles == {Role.HANDLER}


def test_admin_cannot_lock_themselves_out(client: FlaskClient, session: Session, admin: User) -> None:
    path = f"/admin/users/{admin.id}"
    no_admin = post_form(client, path, {"display_name": "管理员", "roles": ["auditor"], "active": "y"})
    assert field_errors(text(no_admin), "roles") == ["不能取消自己的系统管理员角色"]
    inactive = post_form(client, path, {"display_name": "管理员", "roles": ["admin"]})
    assert field_errors(text(inactive), "active") == ["不能停用自己的账户"]
    assert reload(session, admin.id).active and reload(session, admin.id).roles == {Role.ADMIN}


def test_reset_password_unlocks(client: FlaskClient, session: Session, admin: User, clock: ManualClock) -> None:
    user = factories.user(session, "locked.out", [Role.AUDITOR])
    user.locked_until, user.failed_logins = clock.now().replace(hour=23), 3
    session.flush()
    path = f"/admin/users/{user.id}"
    assert "登录已锁定至" in text(client.get(path))
    weak = post_form(client, f"{path}/password", {"password": "12345678", "confirm": "12345678"}, form_page=path)
    assert weak.status_code == 200
    assert field_errors(text(weak), "password") == ["密码须同时包含字母和数字或符号"]
    ok = post_form(client, f"{path}/password", {"password": "Reset-pass-1", "confirm": "Reset-pass-1"}, form_page=path)
    assert ok.status_code == 302
    user = reload(session, user.id)
    assert user.locked_until is None and user.failed_logins == 0 and user.password_changed_at == clock.now()
    assert authenticate(session, "locked.out", "Reset-pass-1") is user
    assert client.post(f"{path}/password", data={"password": "Other-pass-1", "confirm": "Other-pass-1"}).status_code == 400


def test_tokens_are_listed_and_can_be_revoked(client: FlaskClient, session: Session, admin: User,
                                              clock: ManualClock) -> None:
    user = factories.user(session, "token.holder", [Role.AUDITOR])
    record, token = user_tokens.create_token(session, user, "移动办公")
    other, _ = user_tokens.create_token(session, admin, "其他人的")
    session.flush()
    path = f"/admin/users/{user.id}"
    page = text(client.get(path))
    assert f"{record.prefix}…" in page and "移动办公" in page and "有效" in page and token not in page
    assert "其他人的" not in page
    assert client.post(f"{path}/tokens/{record.id}/revoke").status_code == 400  # no CSRF token
    assert post_form(client, f"{path}/tokens/{other.id}/revoke", {}, form_page=path).status_code == 404
    response = post_form(client, f"{path}/tokens/{record.id}/revoke", {}, form_page=path)
    assert response.status_code == 302
    assert "已吊销" in text(client.get(path))
    assert user_tokens.authenticate(session, token) is None


def test_unknown_user_is_404(client: FlaskClient, admin: User) -> None:
    assert client.get("/admin/users/999999").status_code == 404


def test_names_are_escaped(client: FlaskClient, session: Session, admin: User) -> None:
    user = factories.user(session, "xss.user", [Role.AUDITOR])
    user.display_name = "<script>alert(1)</script>"
    session.flush()
    for path in ("/admin/users", f"/admin/users/{user.id}"):
        page = text(client.get(path))
        assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
