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


def test_a_return_marks_the_model_required_for_a_catalogue_error_and_keeps_what_was_typed(
    browser: Browser, live_server: LiveServer, tmp_path: Path
) -> None:
    from app.orders import services

    with live_server.session() as session:
        import_release(
            session, path=base_release(tmp_path / "r", parts=KIT, supersessions=KIT_ROWS), label="r"
        )
        technician = make_user(session, role=Role.TECHNICIAN)
        order, _ = services.place(session, technician, [services.Asked("A-2072-533-A", 1)])
        order.status = DELIVERED
        session.commit()
        order_id = order.id
    page = browser.new_page()
    live_server.sign_in(page, technician.email)
    page.goto(f"{live_server.url}/orders/{order_id}")
    row = page.get_by_role("row").filter(has_text="A-2072-533-A")
    row.get_by_text("Return this part").click()
    model = row.get_by_label("Model it was listed for")
    expect(model).not_to_have_attribute("required", "")
    row.get_by_label("Reason").select_option("catalogue_error")
    expect(model).to_have_attribute("required", "")  # the page's script, as the label says
    row.get_by_label("Note").fill("listed for the 55 inch only")
    # The form does not block (novalidate): the server's own check answers, keeping the text.
    row.get_by_role("button", name="Request the return").click()
    expect(page.get_by_role("alert")).to_contain_text("give the model the part was listed for")
    row = page.get_by_role("row").filter(has_text="A-2072-533-A")
    expect(row.get_by_label("Note")).to_have_value("listed for the 55 inch only")
    expect(row.get_by_label("Reason")).to_have_value("catalogue_error")
    expect(row.get_by_label("Model it was listed for")).to_have_attribute("required", "")
    row.get_by_label("Model it was listed for").fill("KDL-55W800C")
    row.get_by_role("button", name="Request the return").click()
    expect(page.get_by_role("status")).to_contain_text("Return accepted")
    page.close()


def test_a_conditional_part_is_confirmed_on_its_page_and_ordered(
    browser: Browser, live_server: LiveServer, tmp_path: Path
) -> None:
    from tests.orders.test_field_hardening import BRACKET, PARTS, ROWS

    with live_server.session() as session:
        import_release(
            session, path=base_release(tmp_path / "r", parts=PARTS, supersessions=ROWS), label="r"
        )
        technician = make_user(session, role=Role.TECHNICIAN)
        session.commit()
    page = browser.new_page()
    live_server.sign_in(page, technician.email)
    page.goto(f"{live_server.url}/catalog/parts/1-800-000-11")
    add = page.get_by_role("button", name="Add 1-800-000-12 × 1 to the cart")
    box = page.get_by_label(f"The condition applies to this unit: {BRACKET}")
    expect(box).to_have_attribute("required", "")
    add.click()  # the browser will not send it unticked
    expect(page).to_have_url(f"{live_server.url}/catalog/parts/1-800-000-11")
    box.check()
    add.click()
    page.goto(f"{live_server.url}/orders/cart")
    expect(page.get_by_role("table")).to_contain_text("Condition confirmed")
    expect(page.get_by_role("table")).to_contain_text("Total 12.00 EUR")
    page.get_by_role("button", name="Place the order").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("placed")
    page.close()
