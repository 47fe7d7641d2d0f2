"""Exploded views on a tablet: tap a hotspot, see the answer, add it to the cart; the drawing and
the parts list light up the same reference both ways; pinch and drag zoom and pan."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from app.orders.models import CartLine
from app.roles import Role
from parts_catalog import demo
from tests.browser.conftest import LiveServer
from tests.factories import make_user

pytestmark = pytest.mark.browser

#: An iPad-sized viewport with touch (portrait): the drawing above, the answer and list below.
TABLET = {"viewport": {"width": 820, "height": 1180}, "has_touch": True, "is_mobile": True}


def view_box(page: Page) -> list[float]:
    text = page.locator("#view-kdl-55w800c-2 .drawing-svg").get_attribute("viewBox") or ""
    return [float(v) for v in text.split()]


def test_tap_a_hotspot_see_the_answer_and_add_it_to_the_cart(
    browser: Browser, live_server: LiveServer, tmp_path: Path
) -> None:
    with live_server.session() as session:
        demo.load(session, tmp_path / "demo")
        technician = make_user(session, role=Role.TECHNICIAN)
        session.commit()
    context = browser.new_context(**TABLET)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console", lambda m: errors.append(m.text) if m.type == "error" else None
    )  # a CSP refusal is reported here
    try:
        live_server.sign_in(page, technician.email)
        page.goto(live_server.url + "/catalog/models/KDL-55W800C")
        view = page.locator("#view-kdl-55w800c-2")
        expect(view.get_by_role("heading", name="Exploded view 2: chassis")).to_be_visible()
        # The drawing itself loaded (served by hash, under its own policy).
        loaded = view.locator("image").evaluate(
            "i => fetch(i.getAttribute('href')).then(r => r.status)"
        )
        assert loaded == 200
        expect(view.locator("[data-hint]")).to_be_visible()

        # Tap ref 251 on the drawing: its answer shows in place, and its row lights up.
        view.locator('a.hotspot[data-ref="251"]').tap()
        answer = view.locator("#answer-kdl-55w800c-2-251")
        expect(answer).to_be_visible()
        expect(answer).to_contain_text("1-474-594-11")
        expect(answer).to_contain_text("Order 1-474-594-12 × 1")
        expect(answer).to_contain_text("in stock")
        expect(answer.get_by_text("Does not fit?")).to_be_visible()
        expect(view.locator("[data-hint]")).to_be_hidden()
        expect(view.locator('tr[data-ref="251"]')).to_have_class("is-chosen")
        expect(view.locator('a.hotspot[data-ref="251"]')).to_have_class("hotspot is-chosen")

        # And the other way: tap a reference in the list, the drawing marks it.
        view.locator('a.ref-link[data-ref="252"]').tap()
        expect(view.locator("#answer-kdl-55w800c-2-252")).to_be_visible()
        expect(answer).to_be_hidden()
        expect(view.locator('a.hotspot[data-ref="252"]')).to_have_class("hotspot is-chosen")
        expect(view.locator('tr[data-ref="251"]')).not_to_have_class("is-chosen")

        # The buttons zoom, "Fit" shows it whole again; pinch zooms in, one finger pans.
        whole = view_box(page)
        fit = " ".join(f"{v:g}" for v in whole)
        view.get_by_role("button", name="Zoom in").tap()
        assert view_box(page)[2] == pytest.approx(whole[2] / 1.5)
        view.get_by_role("button", name="Fit").tap()
        expect(view.locator(".drawing-svg")).to_have_attribute("viewBox", fit)
        view.locator(".drawing-svg").scroll_into_view_if_needed()
        box = view.locator(".drawing-svg").bounding_box()
        assert box is not None
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        cdp = context.new_cdp_session(page)

        def touch(kind: str, *points: tuple[float, float]) -> None:
            cdp.send(
                "Input.dispatchTouchEvent",
                {
                    "type": kind,
                    "touchPoints": [{"x": x, "y": y, "id": n} for n, (x, y) in enumerate(points)],
                },
            )

        touch("touchStart", (cx - 30, cy), (cx + 30, cy))
        for step in range(1, 6):
            touch("touchMove", (cx - 30 - 20 * step, cy), (cx + 30 + 20 * step, cy))
        touch("touchEnd")
        zoomed = view_box(page)
        assert zoomed[2] < whole[2] / 2, (whole, zoomed)
        touch("touchStart", (cx, cy))
        for step in range(1, 6):
            touch("touchMove", (cx + 15 * step, cy + 10 * step))
        touch("touchEnd")
        panned = view_box(page)
        assert panned[0] < zoomed[0]
        assert panned[2] == pytest.approx(zoomed[2])
        cdp.detach()
        # A moment, as a hand takes: a touch straight after a quick swipe stops the browser's
        # fling and is not a tap.
        page.wait_for_timeout(600)
        view.get_by_role("button", name="Fit").tap()
        expect(view.locator(".drawing-svg")).to_have_attribute("viewBox", fit)

        # Back to 251, and order what it resolves to today.
        view.locator('a.hotspot[data-ref="251"]').tap()
        answer.get_by_role("button", name="Add 1-474-594-12 × 1 to the cart").tap()
        expect(page.get_by_role("status").first).to_contain_text("it is in your cart")
        assert page.url.endswith("/catalog/models/KDL-55W800C?as_of=2026.11#view-kdl-55w800c-2")
        with live_server.session() as session:
            lines = session.query(CartLine).filter_by(user_id=technician.id).all()
            assert [line.requested for line in lines] == ["1-474-594-11"]
        assert errors == []
    finally:
        context.close()


def test_the_part_page_thumbnail_opens_the_answer_on_the_model_page(
    browser: Browser, live_server: LiveServer, tmp_path: Path
) -> None:
    with live_server.session() as session:
        demo.load(session, tmp_path / "demo")
        technician = make_user(session, role=Role.TECHNICIAN)
        session.commit()
    context = browser.new_context(**TABLET)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        live_server.sign_in(page, technician.email)
        page.goto(live_server.url + "/catalog/parts/A-2072-533-A")
        where = page.locator(".where-drawn")
        expect(where.get_by_role("heading", name="Where on the drawing")).to_be_visible()
        expect(where.locator('.hotspot.marked[data-ref="252"]')).to_have_count(1)
        where.get_by_role("link", name="KDL-55W800C", exact=True).tap()
        expect(page.locator("#answer-kdl-55w800c-2-252")).to_be_visible()
        expect(page.locator('#view-kdl-55w800c-2 tr[data-ref="252"]')).to_have_class("is-chosen")
        # From the keyboard: a hotspot is a link, Enter answers it.
        hotspot = page.locator('#view-kdl-55w800c-2 a.hotspot[data-ref="201"]')
        hotspot.focus()
        expect(page.locator('#view-kdl-55w800c-2 tr[data-ref="201"]')).to_have_class("is-lit")
        page.keyboard.press("Enter")
        expect(page.locator("#answer-kdl-55w800c-2-201")).to_be_visible()
        expect(page.locator("#answer-kdl-55w800c-2-252")).to_be_hidden()
        # Printed: the drawing and the list, not the answers, forms or buttons.
        page.emulate_media(media="print")
        expect(page.locator("#view-kdl-55w800c-2 .drawing-svg")).to_be_visible()
        expect(page.locator('#view-kdl-55w800c-2 tr[data-ref="201"]')).to_be_visible()
        expect(page.locator("#answer-kdl-55w800c-2-201")).to_be_hidden()
        expect(page.locator("#view-kdl-55w800c-2 [data-tools]")).to_be_hidden()
        expect(page.locator(".topbar")).to_be_hidden()
    finally:
        context.close()
