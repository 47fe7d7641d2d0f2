"""A repair in the browser: complaint -> walk -> fix -> the repair costs more than the unit is
worth -> an exchange approved by the rules -> the RMA to send the unit back under."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from app.models import utcnow
from app.orders.models import Order, OrderKind
from app.repairs.models import ExchangeRule, Repair, SymptomCode, UnitReturn
from app.roles import Role
from diagnostics import services, trees
from parts_catalog.importer import import_release
from tests.browser.conftest import LiveServer
from tests.diagnostics.test_trees import TREE
from tests.factories import make_user
from tests.parts_catalog.releases import base_release

pytestmark = pytest.mark.browser


def _world(live_server: LiveServer, tmp_path: Path) -> str:
    with live_server.session() as session:
        import_release(session, path=base_release(tmp_path / "r1"), label="2026.1")
        services.import_tree(session, trees.dump(TREE), by="eng", publish=True)
        session.add(SymptomCode(code="NOPIC", description="No picture", updated_at=utcnow()))
        # A small TV is worth less than a new power board and half an hour's labour.
        session.add(
            ExchangeRule(
                product_line="TV",
                value=Decimal("80.00"),
                auto_approve=True,
                core_charge=Decimal("40.00"),
                return_days=15,
                updated_at=utcnow(),
            )
        )
        user = make_user(session, role=Role.TECHNICIAN)
        session.commit()
        return user.email


def test_from_a_complaint_to_an_approved_exchange_and_its_rma(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    email = _world(live_server, tmp_path)
    live_server.sign_in(page, email)
    expect(page.get_by_role("heading", name="My open repairs")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Repairs").click()
    page.get_by_role("link", name="New repair").click()
    page.get_by_label("Model number").fill("kdl 55w800c")
    page.get_by_label("Serial number").fill("4012345")
    page.get_by_label("Customer complaint").fill("No picture; the red light blinks twice")
    page.get_by_label("Symptom code").select_option("NOPIC")
    page.get_by_role("button", name="Open the repair").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(re.compile(r"REP-\d{4}-\d{6} · Open"))
    reference = heading.inner_text().split(" ")[0]
    # Diagnose: the trees for this model, walked from the repair.
    page.get_by_label("Tree for KDL-55W800C").select_option(TREE["id"])
    page.get_by_role("button", name="Diagnose").click()
    page.get_by_role("button", name="2", exact=True).click()
    page.get_by_label("Measured value").fill("10.9")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fix")
    # Back to the repair, from the home page's list.
    page.get_by_role("link", name="Benchside").click()
    page.locator("#my-repairs").get_by_role("link", name=reference).click()
    expect(page.get_by_role("cell", name=re.compile("Walk: Red standby LED"))).to_be_visible()
    estimate = page.locator("#exchange-estimate")
    expect(estimate).to_contain_text("111.50")  # 89.00 + 30 min at 45.00
    expect(estimate).to_contain_text("80.00")
    expect(page.get_by_text("Recommend an exchange")).to_be_visible()
    page.get_by_role("button", name="Request an exchange").click()
    expect(page.get_by_role("status").first).to_contain_text("approved")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Exchanged")
    with live_server.session() as session:
        unit_return = session.scalars(select(UnitReturn)).one()
        orders = session.scalar(
            select(func.count()).select_from(Order).where(Order.kind == OrderKind.EXCHANGE)
        )
    assert unit_return.rma
    expect(page.locator(".rma")).to_have_text(unit_return.rma)
    expect(page.locator(".rma-due")).to_have_text(unit_return.due_on.isoformat())
    expect(page.get_by_role("link", name=re.compile(r"Order \d+"))).to_be_visible()
    expect(page.get_by_role("button", name="Request an exchange")).to_have_count(0)
    assert orders == 1


def test_a_repair_form_with_an_error_keeps_everything_typed(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    email = _world(live_server, tmp_path)
    live_server.sign_in(page, email)
    page.goto(live_server.url + "/repairs/new")
    typed = {
        "Model number": "KDL-00NOPE",
        "Serial number": "SN-77 1",
        "Purchase date": "2025-03-04",
        "Customer complaint": "Cracked screen <after> a fall",
        "Customer name": "Bo Chen",
        "Customer contact": "bo@example.com",
    }
    for label, value in typed.items():
        page.get_by_label(label).fill(value)
    page.get_by_label("Symptom code").select_option("NOPIC")
    page.get_by_role("button", name="Open the repair").click()
    expect(page.get_by_text("KDL-00NOPE is not a model in the catalogue")).to_be_visible()
    for label, value in typed.items():
        expect(page.get_by_label(label)).to_have_value(value)
    expect(page.get_by_label("Symptom code")).to_have_value("NOPIC")
    with live_server.session() as session:
        assert session.scalar(select(func.count()).select_from(Repair)) == 0
