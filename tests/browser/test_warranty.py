"""A warranty repair in the browser, from the repair to a paid claim: a repair with a purchase
date, its receipt uploaded (the box then says until when it is in warranty), walked to its fix,
the fix's parts ordered as a warranty order and attached to the repair, a claim made with a
labour code of the wrong product line (the problem is listed) and corrected, submitted; a
reviewer approves it and pays it in a batch; the technician sees it paid."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from app.models import utcnow
from app.roles import Role
from app.warranty.entitlement import standard_until
from app.warranty.models import Claim, ClaimStatus, LabourRate, PaymentBatch, WarrantyTerm
from diagnostics import services, trees
from parts_catalog.importer import import_release
from tests.browser.conftest import LiveServer
from tests.diagnostics.test_trees import TREE
from tests.factories import make_centre, make_user
from tests.parts_catalog.releases import base_release

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CENTRE = "Northside"


def _world(live_server: LiveServer, tmp_path: Path) -> tuple[str, str]:
    with live_server.session() as session:
        import_release(session, path=base_release(tmp_path / "r1"), label="2026.1")
        services.import_tree(session, trees.dump(TREE), by="eng", publish=True)
        session.add(
            WarrantyTerm(product_line="TV", parts_months=24, labour_months=12, updated_at=utcnow())
        )
        for code, line, kind, amount in (
            ("TV-PSU", "TV", "Power board", "40.00"),
            ("CAM-LENS", "Camera", "Lens unit", "30.00"),
        ):
            session.add(
                LabourRate(
                    code=code,
                    product_line=line,
                    repair_kind=kind,
                    amount=Decimal(amount),
                    effective_on=date(2020, 1, 1),
                )
            )
        tech = make_user(session, role=Role.TECHNICIAN, centre=make_centre(session, name=CENTRE))
        reviewer = make_user(session, role=Role.CLAIM_REVIEWER)
        session.commit()
        return tech.email, reviewer.email


def test_from_a_warranty_repair_to_a_paid_claim(
    page: Page, browser: Browser, live_server: LiveServer, tmp_path: Path
) -> None:
    tech, reviewer = _world(live_server, tmp_path)
    bought = utcnow().date() - timedelta(days=100)
    live_server.sign_in(page, tech)
    # A repair with the purchase date from the receipt.
    page.goto(live_server.url + "/repairs/new")
    page.get_by_label("Model number").fill("KDL-55W800C")
    page.get_by_label("Serial number").fill("4012345")
    page.get_by_label("Purchase date").fill(bought.isoformat())
    page.get_by_label("Customer complaint").fill("No picture; the red light blinks twice")
    page.get_by_role("button", name="Open the repair").click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(re.compile(r"REP-\d{4}-\d{6} · Open"))
    reference = heading.inner_text().split(" ")[0]
    box = page.locator("#warranty")
    expect(box.locator("#entitlement")).to_have_text("Unknown: proof of purchase needed")
    # The receipt: then the purchase date counts.
    page.get_by_label("Proof of purchase").set_input_files(
        files=[{"name": "receipt.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.get_by_role("button", name="Add the proof").click()
    parts, labour = standard_until(bought, 24), standard_until(bought, 12)
    expect(box.locator("#entitlement")).to_have_text(
        f"In warranty until {parts:%d %b %Y} (parts), {labour:%d %b %Y} (labour)"
    )
    expect(box).to_contain_text("receipt.pdf")
    # Walked to the fix, its parts ordered on warranty, the order attached to the repair.
    page.get_by_label("Tree for KDL-55W800C").select_option(TREE["id"])
    page.get_by_role("button", name="Diagnose").click()
    page.get_by_role("button", name="2", exact=True).click()
    page.get_by_label("Measured value").fill("10.9")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fix")
    page.get_by_role("button", name="Add these parts to the cart").click()
    page.get_by_label("Order type").select_option("warranty")
    page.get_by_label("Warranty job or serial").fill(reference)
    page.get_by_role("button", name="Place the order").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("placed")
    # An order whose job is the repair's reference is part of it once placed (or offered to it,
    # then attached by a click).
    offer = page.get_by_role("button", name="Attach this order")
    if offer.count():
        offer.click()
    link = page.locator(".repair-link")
    expect(link).to_contain_text(f"Part of {reference}")
    link.get_by_role("link", name=reference).click()
    # A claim with a Camera labour code for a TV: the claim page names the problem.
    page.get_by_role("link", name="Make a warranty claim").click()
    expect(page.get_by_label("Fault (symptom code)")).to_have_value("")
    page.get_by_label("Labour code").select_option("CAM-LENS")
    page.get_by_role("button", name="Draft the claim").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile(r"CLM-\d{4}-\d{6}"))
    claim_ref = page.get_by_role("heading", level=1).inner_text().split(" ")[0]
    problems = page.locator("#claim-problems")
    expect(problems).to_contain_text(
        "Labour code CAM-LENS is for Camera, not for KDL-55W800C (TV)."
    )
    # Corrected in place: the same claim, the new board's serial recorded on its part line.
    page.get_by_label("Labour code").select_option("TV-PSU")
    page.get_by_label("Replacement serial of 1-474-594-12").fill("PSU-0042")
    page.get_by_role("button", name="Save the correction").click()
    expect(page.locator("#claim-ready")).to_be_visible()
    expect(page.locator("#claim-total")).to_have_text("129.00")  # 40.00 labour + 89.00 board
    expect(page.locator(".claim-lines").get_by_role("cell", name="PSU-0042")).to_be_visible()
    page.get_by_role("button", name="Submit the claim").click()
    expect(page.locator("#claim-status")).to_have_text("submitted")

    # The reviewer: the queue, the claim, approved; then the centre's batch for this month.
    review = browser.new_context().new_page()
    review.set_default_timeout(10_000)
    live_server.sign_in(review, reviewer)
    review.goto(live_server.url + "/claims/review")
    review.get_by_role("link", name=claim_ref).click()
    review.get_by_label("Decision").select_option("approve")
    review.get_by_role("button", name="Record the decision").click()
    expect(review.locator("#claim-status")).to_have_text("approved")
    review.get_by_role("navigation", name="Warranty").get_by_role(
        "link", name="Payment batches"
    ).click()
    review.get_by_label("Service centre").select_option(label=CENTRE)
    review.get_by_role("button", name="Make the batch").click()
    expect(review.get_by_role("status").first).to_contain_text("1 claim, 129.00 in total")
    expect(review.locator(".batch-total").first).to_have_text("129.00")
    review.context.close()

    # The technician sees the claim paid, in the list and on its page.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Claims").click()
    row = page.locator("tr.claim-row").filter(has_text=claim_ref)
    expect(row.locator(".claim-status")).to_have_text("paid")
    expect(page.locator("#total-paid")).to_have_text("129.00")
    row.get_by_role("link", name=claim_ref).click()
    expect(page.locator("#claim-history")).to_contain_text("Paid in PAY-")
    with live_server.session() as session:
        claim = session.scalars(select(Claim)).one()
        batch = session.scalars(select(PaymentBatch)).one()
    assert claim.status == ClaimStatus.PAID
    assert claim.payment_batch_id == batch.id
    assert batch.total == claim.total == Decimal("129.00")
