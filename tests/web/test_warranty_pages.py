"""The warranty pages: the repair's warranty box and its proof of purchase, a claim drafted from a
repair, corrected, refused with every problem at once, submitted (a stale second click is told),
decided, sent back and resubmitted, paid in a batch whose CSV adds up; the centre's list with
totals; other centres' claims; the rates, terms and extended coverage kept by their keepers."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.models import utcnow
from app.orders import services as orders
from app.repairs import services as repairs
from app.repairs.models import Repair
from app.repairs.settings import RepairSettings
from app.roles import Role
from app.warranty.entitlement import standard_until
from app.warranty.models import (
    Claim,
    ClaimStatus,
    CoverageImport,
    LabourRate,
    PaymentBatch,
    PurchaseProof,
    WarrantyTerm,
)
from parts_catalog.importer import import_release
from tests.conftest import AuthActions
from tests.factories import make_centre, make_user
from tests.parts_catalog.releases import base_release

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
BOUGHT_DAYS_AGO = 100


@dataclass
class Bench:
    tech: User  # of North
    other: User  # a technician of South
    reviewer: User
    engineer: User
    admin: User
    repair: Repair  # North's, KDL-55W800C 4012345, bought 100 days ago, a warranty order attached


@pytest.fixture
def bench(session: Session, tmp_path: Path) -> Bench:
    import_release(session, path=base_release(tmp_path / "r"), label="r")
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
    north, south = make_centre(session, name="North"), make_centre(session, name="South")
    tech = make_user(session, role=Role.TECHNICIAN, centre=north)
    other = make_user(session, role=Role.TECHNICIAN, centre=south)
    repair, _ = repairs.open_repair(
        session,
        by=tech,
        asked=repairs.NewRepair(
            "KDL-55W800C",
            "4012345",
            "No power",
            purchase_on=utcnow().date() - timedelta(days=BOUGHT_DAYS_AGO),
            symptom_code=None,
        ),
        settings=RepairSettings(),
    )
    order, _ = orders.place(
        session, tech, [orders.Asked("1-474-594-12", 1)], kind="warranty", job="4012345"
    )
    repairs.attach(session, repair, kind="order", ref=str(order.id), by=tech)
    bench = Bench(
        tech,
        other,
        make_user(session, role=Role.CLAIM_REVIEWER),
        make_user(session, role=Role.ENGINEER),
        make_user(session, role=Role.ADMIN),
        repair,
    )
    session.commit()
    return bench


def _as(auth: AuthActions, user: User) -> None:
    if auth.user is not None:
        auth.logout()
    auth.login(user=user)


def _post(client: FlaskClient, auth: AuthActions, url: str, **data: object) -> tuple[int, str]:
    """Post a form; a success (a redirect) answers with the page it leads to."""
    response = client.post(url, data={"csrf_token": auth.csrf(), **data})
    if response.status_code in (302, 303):
        response = client.get(response.headers["Location"])
    return response.status_code, response.get_data(as_text=True)


def _text(html: str) -> str:
    """The page's words, without tags (what a reader sees)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def _prove(client: FlaskClient, auth: AuthActions, repair: Repair) -> int:
    response = client.post(
        f"/repairs/{repair.reference}/proof",
        data={"csrf_token": auth.csrf(), "proof": (io.BytesIO(PDF), "receipt.pdf")},
        content_type="multipart/form-data",
    )
    return response.status_code


def _draft(
    client: FlaskClient, auth: AuthActions, session: Session, repair: Repair, code: str
) -> Claim:
    response = client.post(
        f"/repairs/{repair.reference}/claim", data={"csrf_token": auth.csrf(), "labour_code": code}
    )
    assert response.status_code == 303
    claim = session.scalars(select(Claim).order_by(Claim.id.desc())).first()
    assert claim is not None
    return claim


def test_the_warranty_box_says_unknown_until_the_proof_is_added(
    client: FlaskClient, auth: AuthActions, session: Session, bench: Bench
) -> None:
    _as(auth, bench.tech)
    page = _text(client.get(f"/repairs/{bench.repair.reference}").get_data(as_text=True))
    assert "Unknown: proof of purchase needed" in page
    assert "The purchase date has no proof attached." in page
    assert "Make a warranty claim" in page
    # A text file is no receipt: refused by its content, nothing kept, said on the page.
    refused = client.post(
        f"/repairs/{bench.repair.reference}/proof",
        data={"csrf_token": auth.csrf(), "proof": (io.BytesIO(b"hello"), "receipt.pdf")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "receipt.pdf is not a PDF or a photo (JPEG, PNG)." in _text(refused.get_data(True))
    assert session.scalar(select(func.count()).select_from(PurchaseProof)) == 0
    assert _prove(client, auth, bench.repair) == 303
    page = _text(client.get(f"/repairs/{bench.repair.reference}").get_data(as_text=True))
    bought = bench.repair.purchase_on
    assert bought is not None
    parts, labour = standard_until(bought, 24), standard_until(bought, 12)
    assert f"In warranty until {parts:%d %b %Y} (parts), {labour:%d %b %Y} (labour)" in page
    assert "Standard warranty of product line TV: 24 months parts, 12 months labour" in page
    assert "receipt.pdf" in page
    # The unit's history shows the same answer, to another centre too.
    _as(auth, bench.other)
    history = _text(client.get("/serials/KDL-55W800C/4012345").get_data(as_text=True))
    assert f"In warranty until {parts:%d %b %Y} (parts)" in history
    assert "receipt.pdf" not in history  # the proof is the centre's


def test_a_claim_with_a_wrong_code_is_corrected_then_submitted(
    client: FlaskClient, auth: AuthActions, session: Session, bench: Bench
) -> None:
    _as(auth, bench.tech)
    form = client.get(f"/repairs/{bench.repair.reference}/claim").get_data(as_text=True)
    # The TV's own codes come first; another line's is offered, named with its line.
    assert form.index("TV-PSU: Power board (40.00)") < form.index("CAM-LENS: Lens unit (30.00)")
    assert "CAM-LENS: Lens unit (30.00), Camera" in form
    assert re.search(r'<select[^>]*name="labour_code"[^>]*required', form)
    claim = _draft(client, auth, session, bench.repair, "CAM-LENS")
    assert claim.reference is not None
    page = _text(client.get(f"/claims/{claim.reference}").get_data(as_text=True))
    # Every problem at once, before the Submit button.
    assert "2 problems stop this claim from being submitted" in page
    assert "Missing proof of purchase: the purchase date has no proof attached." in page
    assert "Labour code CAM-LENS is for Camera, not for KDL-55W800C (TV)." in page
    assert page.index("Missing proof") < page.index("Submit the claim")
    # Submitting anyway: refused with both problems, the claim stays a draft.
    status, html = _post(client, auth, f"/claims/{claim.reference}/submit", version="1")
    assert status == 422
    assert "was not submitted: 2 problems to correct" in _text(html)
    session.refresh(claim)
    assert claim.status == ClaimStatus.DRAFT
    # A correction typed wrong comes back with everything typed.
    status, html = _post(
        client,
        auth,
        f"/claims/{claim.reference}/edit",
        version="1",
        labour_code="TV-PSU",
        travel="twelve",
        faulty_serial="PSU-OLD-1",
        replacement_serial="PSU-NEW-2",
        **{"parts-0-part_number": "1-474-594-12", "parts-0-quantity": "1"},
        **{"parts-0-faulty_serial": "B-1", "parts-0-replacement_serial": "B-2"},
    )
    assert status == 422
    assert "An amount such as 12.50." in html
    for typed in ('value="twelve"', 'value="PSU-OLD-1"', 'value="PSU-NEW-2"', 'value="B-2"'):
        assert typed in html
    assert re.search(r'<option selected value="TV-PSU">|<option value="TV-PSU" selected', html)
    status, html = _post(
        client,
        auth,
        f"/claims/{claim.reference}/edit",
        version="1",
        labour_code="TV-PSU",
        travel="12.50",
        faulty_serial="PSU-OLD-1",
        replacement_serial="PSU-NEW-2",
        **{"parts-0-part_number": "1-474-594-12", "parts-0-quantity": "1"},
        **{"parts-0-faulty_serial": "B-1", "parts-0-replacement_serial": "B-2"},
    )
    assert status == 200
    session.refresh(claim)
    assert (claim.version, claim.labour_code, claim.total) == (2, "TV-PSU", Decimal("141.50"))
    part = next(line for line in claim.lines if line.part_number)
    assert (part.faulty_serial, part.replacement_serial) == ("B-1", "B-2")
    assert _prove(client, auth, bench.repair) == 303
    page = _text(client.get(f"/claims/{claim.reference}").get_data(as_text=True))
    assert "Nothing stops this claim" in page
    assert "Travel is claimed." in page  # a flag the reviewer will see
    status, html = _post(client, auth, f"/claims/{claim.reference}/submit", version="2")
    assert status == 200
    assert "is submitted" in _text(html)
    # The same button again (a second tab, a double click): told, nothing done twice.
    status, html = _post(client, auth, f"/claims/{claim.reference}/submit", version="2")
    assert status == 409
    assert "was submitted or changed meanwhile (now submitted)" in _text(html)
    assert [e.text.split(" ")[0] for e in claim.events] == ["Drafted.", "Edited", "Submitted:"]


def _submitted(client: FlaskClient, auth: AuthActions, session: Session, bench: Bench) -> Claim:
    _as(auth, bench.tech)
    assert _prove(client, auth, bench.repair) == 303
    claim = _draft(client, auth, session, bench.repair, "TV-PSU")
    status, _html = _post(client, auth, f"/claims/{claim.reference}/submit", version="1")
    assert status == 200
    session.refresh(claim)
    assert claim.status == ClaimStatus.SUBMITTED
    return claim


def test_sent_back_resubmitted_approved_and_paid_in_a_batch_that_adds_up(
    client: FlaskClient, auth: AuthActions, session: Session, bench: Bench
) -> None:
    claim = _submitted(client, auth, session, bench)
    _as(auth, bench.reviewer)
    queue = _text(client.get("/claims/review").get_data(as_text=True))
    assert claim.reference in queue
    assert "No diagnosis is attached to the repair." in queue  # its flag, in the queue
    # Asking for information needs a reason: the form says so and keeps the choice.
    status, html = _post(
        client, auth, f"/claims/{claim.reference}/decision", decision="needs_information"
    )
    assert status == 422
    assert "Give the reason." in html
    assert re.search(r'<option selected value="needs_information">', html)
    status, _html = _post(
        client,
        auth,
        f"/claims/{claim.reference}/decision",
        decision="needs_information",
        reason="Which board serial was fitted?",
    )
    assert status == 200
    _as(auth, bench.tech)
    page = _text(client.get(f"/claims/{claim.reference}").get_data(as_text=True))
    assert "Which board serial was fitted?" in page
    status, _html = _post(
        client,
        auth,
        f"/claims/{claim.reference}/edit",
        version="1",
        labour_code="TV-PSU",
        replacement_serial="PSU-NEW-9",
    )
    assert status == 200
    status, _html = _post(client, auth, f"/claims/{claim.reference}/submit", version="2")
    assert status == 200
    _as(auth, bench.reviewer)
    status, _html = _post(client, auth, f"/claims/{claim.reference}/decision", decision="approve")
    assert status == 200
    # Decided meanwhile (a second reviewer, a second click): said, nothing changed.
    status, html = _post(
        client, auth, f"/claims/{claim.reference}/decision", decision="reject", reason="No"
    )
    assert status == 409
    assert "was decided meanwhile" in _text(html)
    today = utcnow().date()
    # A period that ends before it starts: said on the form, which keeps what was typed.
    status, html = _post(
        client,
        auth,
        "/claims/payments",
        centre=str(bench.repair.centre_id),
        period_from="2026-03-01",
        period_to="2026-02-01",
    )
    assert status == 422
    assert "The period ends before it starts." in html
    assert 'value="2026-03-01"' in html
    assert re.search(rf'<option selected value="{bench.repair.centre_id}">', html)
    assert session.scalar(select(func.count()).select_from(PaymentBatch)) == 0
    status, html = _post(
        client,
        auth,
        "/claims/payments",
        centre=str(bench.repair.centre_id),
        period_from=(today - timedelta(days=1)).isoformat(),
        period_to=today.isoformat(),
    )
    assert status == 200
    batch = session.scalars(select(PaymentBatch)).one()
    assert f"{batch.reference}: 1 claim, 129.00 in total." in _text(html)
    rows = list(csv.reader(io.StringIO(client.get(f"/claims/payments/{batch.reference}.csv").text)))
    lines = [Decimal(r[6]) for r in rows[1:-1]]
    assert rows[-1][4] == "total"
    assert sum(lines) == Decimal(rows[-1][6]) == batch.total == Decimal("129.00")
    session.refresh(claim)
    assert claim.status == ClaimStatus.PAID
    _as(auth, bench.tech)
    listing = _text(client.get("/claims").get_data(as_text=True))
    assert f"{claim.reference}" in listing
    assert "paid 129.00" in listing  # the totals by status at the top
    history = [e.text.split(":")[0].split(" (")[0] for e in claim.events]
    assert history == [
        "Drafted.",
        "Submitted",
        "Needs information",
        "Edited",
        "Submitted",
        "Approved.",
        f"Paid in {batch.reference}.",
    ]


def test_another_centre_gets_a_404_and_lists_only_its_own(
    client: FlaskClient, auth: AuthActions, session: Session, bench: Bench
) -> None:
    claim = _submitted(client, auth, session, bench)
    proof = session.scalars(select(PurchaseProof)).one()
    _as(auth, bench.other)
    assert client.get(f"/claims/{claim.reference}").status_code == 404
    assert client.get(f"/claims/{claim.reference}/proofs/{proof.id}").status_code == 404
    assert client.get(f"/repairs/{bench.repair.reference}/claim").status_code == 404
    assert claim.reference not in client.get("/claims").get_data(as_text=True)
    _as(auth, bench.reviewer)
    # The reviewer does not open the centre's repair: the claim shows what it rests on.
    page = _text(client.get(f"/claims/{claim.reference}").text)
    assert "Warranty when the repair was opened In warranty until" in page
    assert client.get(f"/repairs/{bench.repair.reference}").status_code == 404
    download = client.get(f"/claims/{claim.reference}/proofs/{proof.id}")
    assert (download.status_code, download.data, download.mimetype) == (
        200,
        PDF,
        "application/pdf",
    )
    assert download.headers["Content-Disposition"].startswith("attachment")
    every = client.get("/claims", query_string={"centre": str(bench.repair.centre_id)}).text
    assert claim.reference in every
    south = client.get("/claims", query_string={"centre": str(bench.other.centre_id)}).text
    assert claim.reference not in south


def test_keepers_add_a_rate_version_and_a_term_and_mistakes_keep_what_was_typed(
    client: FlaskClient, auth: AuthActions, session: Session, bench: Bench
) -> None:
    _as(auth, bench.engineer)
    fields = {
        "code": "tv-psu",
        "product_line": "TV",
        "repair_kind": "Power board",
        "amount": "44.00",
        "effective_on": "2027-01-01",
    }
    status, html = _post(client, auth, "/warranty/rates", **fields)
    assert status == 200
    page = _text(html)
    assert "TV-PSU: 44.00 from 01 Jan 2027." in page
    assert "44.00 from 2027-01-01" in page
    assert "40.00 from 2020-01-01" in page
    # The same date again, and a code moved to another line: refused, everything typed kept.
    status, html = _post(client, auth, "/warranty/rates", **fields)
    assert status == 409
    assert "TV-PSU already has a rate from 01 Jan 2027" in _text(html)
    assert 'value="44.00"' in html
    assert 'value="2027-01-01"' in html
    status, html = _post(client, auth, "/warranty/rates", **{**fields, "product_line": "Camera"})
    assert status == 422
    assert "TV-PSU is a TV code" in _text(html)
    assert session.scalar(select(func.count()).where(LabourRate.code == "TV-PSU")) == 2
    status, html = _post(client, auth, "/warranty/terms", parts_months="12", labour_months="6")
    assert status == 422
    assert "Give a product line or a model pattern" in _text(html)
    assert 'value="12"' in html
    assert 'value="6"' in html
    status, html = _post(
        client,
        auth,
        "/warranty/terms",
        model_pattern="kdl-55*",
        parts_months="36",
        labour_months="24",
    )
    assert status == 200
    assert "Warranty of KDL-55*: 36 months parts, 24 months labour." in _text(html)
    term = session.scalars(
        select(WarrantyTerm).where(WarrantyTerm.model_pattern == "KDL-55*")
    ).one()
    status, html = _post(client, auth, f"/warranty/terms/{term.id}/remove")
    assert status == 200
    assert "The term is removed" in html
    assert session.scalar(select(func.count()).select_from(WarrantyTerm)) == 1
    assert client.get("/warranty/coverage").status_code == 403  # admins only


def test_extended_coverage_lists_every_problem_and_imports_nothing_then_counts(
    client: FlaskClient, auth: AuthActions, session: Session, bench: Bench
) -> None:
    _as(auth, bench.admin)
    bad = (
        b"model_number,serial,ends_on,kind\nNOPE-1,1,2030-01-01,parts\nKDL-55W800C,,2030-13-01,x\n"
    )
    response = client.post(
        "/warranty/coverage",
        data={"csrf_token": auth.csrf(), "file": (io.BytesIO(bad), "bad.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = _text(response.get_data(as_text=True))
    assert "line 2, model_number: NOPE-1 is not a model" in page
    assert "line 3, serial: give a serial or both ends of a range" in page
    assert "line 3, ends_on: a date as YYYY-MM-DD" in page
    assert session.scalar(select(func.count()).select_from(CoverageImport)) == 0
    good = b"model_number,serial,ends_on,kind,note\nKDL-55W800C,4012345,2031-06-30,parts,Goodwill\n"
    response = client.post(
        "/warranty/coverage",
        data={"csrf_token": auth.csrf(), "file": (io.BytesIO(good), "goodwill.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "goodwill.csv: 1 rows of extended coverage imported." in _text(response.text)
    # No proof, yet the serial is covered: the unit's history says so and why.
    history = _text(client.get("/serials/KDL-55W800C/4012345").text)
    assert "In warranty until 30 Jun 2031 (parts), not labour" in history
    assert "Goodwill to 30 Jun 2031" in history


def test_a_payment_batch_with_nothing_to_pay_is_refused_and_says_so(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    centre = make_centre(session, name="Quiet Centre")
    auth.login(Role.CLAIM_REVIEWER)
    today = utcnow().date().isoformat()
    page = client.post(
        "/claims/payments",
        data={
            "centre": str(centre.id),
            "period_from": today,
            "period_to": today,
            "csrf_token": auth.csrf(),
        },
    )
    assert page.status_code == 422
    assert "nothing was paid" in page.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(PaymentBatch)) == 0
