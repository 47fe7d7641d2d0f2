from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import update

from app.orders.models import DELIVERED, Order
from app.roles import Role
from parts_catalog.importer import import_release
from tests.browser.conftest import LiveServer
from tests.factories import make_user
from tests.orders.test_orders import KIT, KIT_ROWS
from tests.parts_catalog.releases import base_release

pytestmark = pytest.mark.browser

LIST = """1-474-594-11, 1
147459411, 1
a2072533a
A 2072 533 A; 2
4-234-704-01
423470411 x 3
1-900-000-11, 1
1-474-594-12
9-999-999-99, 1
1.474.594.12, 2
"""


def test_a_pasted_list_to_an_order_and_a_catalogue_error_return(
    browser: Browser, live_server: LiveServer, tmp_path: Path
) -> None:
    with live_server.session() as session:
        release = base_release(tmp_path / "r1", parts=KIT, supersessions=KIT_ROWS)
        import_release(session, path=release, label="2026.1")
        technician = make_user(session, role=Role.TECHNICIAN)
        session.commit()
    page = browser.new_page()
    live_server.sign_in(page, technician.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Cart").click()
    page.get_by_label("Paste a list").fill(LIST)
    page.get_by_role("button", name="Check and add").click()
    cart = page.get_by_role("table")
    expect(cart).to_contain_text("You asked for 1-474-594-11; 1-474-594-12 replaces it (one-way).")
    expect(cart).to_contain_text("it is now a kit: 1-900-000-21 × 1, 1-900-000-22 × 2")
    expect(cart).to_contain_text("9-999-999-99 is not in the catalogue.")
    # Nothing is ordered while a line cannot be: the unknown one must go first.
    expect(page.get_by_role("button", name="Place the order")).to_be_disabled()
    page.get_by_role("row").filter(has_text="9-999-999-99").get_by_role(
        "button", name="Remove"
    ).click()
    page.get_by_label("Your reference").fill("job 4711")
    page.get_by_role("button", name="Place the order").dblclick()  # a double click: one order
    expect(page.get_by_role("heading", level=1)).to_contain_text("placed")
    with live_server.session() as session:
        assert session.query(Order).count() == 1
        session.execute(update(Order).values(status=DELIVERED))
        session.commit()
    page.reload()
    row = page.get_by_role("row").filter(has_text="A-2072-533-A")
    row.get_by_text("Return this part").click()
    row.get_by_label("Reason").select_option("catalogue_error")
    row.get_by_label("Model it was listed for").fill("KDL-55W800C")
    row.get_by_role("button", name="Request the return").click()
    expect(page.get_by_role("status")).to_contain_text("Return accepted")
    expect(page.get_by_role("row").filter(has_text="A-2072-533-A")).to_contain_text("accepted")
    page.close()
