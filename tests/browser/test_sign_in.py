"""Signing in and out in a real browser."""

from __future__ import annotations

from .conftest import District, sign_in


def test_wrong_password_is_refused_and_right_one_signs_in(district: District, new_page: object) -> None:
    page = new_page()
    page.goto(f"{district.url}/login")
    page.fill("#username", "yibao.h1")
    page.fill("#password", "wrong-password-1")
    page.click("input[type=submit]")
    assert page.locator("p.error").inner_text() == "用户名或密码错误"

    sign_in(page, district, "yibao.h1")
    assert "用户yibao.h1" in page.locator("header.topbar").inner_text()
    page.get_by_role("button", name="退出").click()
    page.wait_for_url(f"{district.url}/login")
    assert page.locator("h1").inner_text() == "用户登录"
