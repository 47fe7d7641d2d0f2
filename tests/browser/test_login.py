from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from app.roles import Role
from tests.browser.conftest import LiveServer
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser


def test_a_technician_signs_in_and_out(page: Page, live_server: LiveServer) -> None:
    with live_server.session() as session:
        user = make_user(session, role=Role.TECHNICIAN, name="Tomás Reyes")
        session.commit()
    page.goto(live_server.url + "/")
    expect(page).to_have_url(live_server.url + "/login?next=/")
    expect(page.get_by_label("Email")).to_have_attribute("required", "")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match an account")
    expect(page.get_by_label("Email")).to_have_value(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Tomás Reyes")
    expect(page.get_by_role("status")).to_contain_text("Signed in as Tomás Reyes")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(live_server.url + "/login")
    page.go_back()
    page.reload()
    expect(page).to_have_url(live_server.url + "/login?next=/")
