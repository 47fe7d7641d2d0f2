"""The warranty API with Bearer tokens: entitlement by model and serial, a proof of purchase,
a claim drafted with its problems, submitted (422 with every problem, then accepted), decided,
and paid in a batch whose CSV adds up."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.auth import services as accounts
from app.auth.models import User
from app.models import utcnow
from app.orders import services as orders
from app.repairs import services as repairs
from app.repairs.settings import RepairSettings
from app.roles import Role
from app.warranty.models import LabourRate, WarrantyTerm
from parts_catalog.importer import import_release
from tests.factories import make_centre, make_user
from tests.parts_catalog.releases import base_release

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


class Caller:
    def __init__(self, client: FlaskClient, session: Session, user: User) -> None:
        self.client = client
        self.user = user
        self.token = accounts.issue_api_token(session, user)
        session.commit()

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, url: str, **query: str) -> Any:
        return self.client.get(url, query_string=query, headers=self.headers())

    def post(self, url: str, body: Any = None) -> Any:
        return self.client.post(url, json=body or {}, headers=self.headers())


@pytest.fixture
def world(client: FlaskClient, session: Session, tmp_path: Path) -> dict[str, Any]:
    import_release(session, path=base_release(tmp_path / "r"), label="r")
    session.add(
        WarrantyTerm(product_line="TV", parts_months=24, labour_months=12, updated_at=utcnow())
    )
    session.add(
        LabourRate(
            code="TV-PSU",
            product_line="TV",
            repair_kind="Power board",
            amount=Decimal("40.00"),
            effective_on=date(2020, 1, 1),
        )
    )
    north, south = make_centre(session, name="North"), make_centre(session, name="South")
    tech = make_user(session, role=Role.TECHNICIAN, centre=north)
    other = make_user(session, role=Role.TECHNICIAN, centre=south)
    admin = make_user(session, role=Role.ADMIN)
    bought = utcnow().date() - timedelta(days=100)
    repair, _ = repairs.open_repair(
        session,
        by=tech,
        asked=repairs.NewRepair("KDL-55W800C", "4012345", "No power", purchase_on=bought),
        settings=RepairSettings(),
    )
    order, _ = orders.place(
        session, tech, [orders.Asked("1-474-594-12", 1)], kind="warranty", job="4012345"
    )
    repairs.attach(session, repair, kind="order", ref=str(order.id), by=tech)
    session.commit()
    return {
        "tech": Caller(client, session, tech),
        "other": Caller(client, session, other),
        "admin": Caller(client, session, admin),
        "repair": repair.reference,
        "bought": bought,
        "centre": north.id,
    }


def test_a_claim_goes_from_draft_to_paid(world: dict[str, Any], client: FlaskClient) -> None:
    tech, admin, other = world["tech"], world["admin"], world["other"]
    unknown = tech.get("/api/v1/entitlement", model="KDL-55W800C", serial="4012345")
    assert unknown.get_json()["status"] == "unknown"

    drafted = tech.post("/api/v1/claims", {"repair": world["repair"], "labour_code": "TV-PSU"})
    assert drafted.status_code == 201, drafted.get_json()
    claim = drafted.get_json()
    assert claim["reference"].startswith("CLM-")
    assert claim["status"] == "draft"
    assert claim["problems"] == [
        "Missing proof of purchase: the purchase date has no proof attached."
    ]
    assert claim["total"] == "129.00"
    ref = claim["reference"]

    refused = tech.post(f"/api/v1/claims/{ref}/submit")
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == claim["problems"]

    assert other.get(f"/api/v1/claims/{ref}").status_code == 404
    proof = client.post(
        f"/api/v1/repairs/{world['repair']}/proof",
        data={"proof": (io.BytesIO(PDF), "receipt.pdf")},
        headers=tech.headers(),
    )
    assert proof.status_code == 201, proof.get_json()
    not_a_receipt = client.post(
        f"/api/v1/repairs/{world['repair']}/proof",
        data={"proof": (io.BytesIO(b"<svg onload=alert(1)>"), "receipt.pdf")},
        headers=tech.headers(),
    )
    assert not_a_receipt.status_code == 422

    covered = tech.get("/api/v1/entitlement", model="kdl-55w800c", serial="4012345").get_json()
    assert covered["status"] == "in_warranty"
    assert (
        covered["parts_until"]
        == (world["bought"].replace(year=world["bought"].year + 2) - timedelta(days=1)).isoformat()
    )

    submitted = tech.post(f"/api/v1/claims/{ref}/submit")
    assert submitted.status_code == 200, submitted.get_json()
    assert submitted.get_json()["status"] == "submitted"
    assert tech.post(f"/api/v1/claims/{ref}/submit").status_code == 409

    assert tech.post(f"/api/v1/claims/{ref}/decision", {"decision": "approve"}).status_code == 403
    approved = admin.post(f"/api/v1/claims/{ref}/decision", {"decision": "approve"})
    assert approved.get_json()["status"] == "approved"

    today = utcnow().date().isoformat()
    batch = admin.post(
        "/api/v1/payment-batches",
        {"centre_id": world["centre"], "period_from": today, "period_to": today},
    )
    assert batch.status_code == 201
    assert batch.get_json()["total"] == "129.00"
    rows = list(
        csv.reader(
            io.StringIO(
                admin.get(f"/api/v1/payment-batches/{batch.get_json()['reference']}.csv").get_data(
                    as_text=True
                )
            )
        )
    )
    assert sum(Decimal(r[6]) for r in rows[1:-1]) == Decimal(rows[-1][6]) == Decimal("129.00")
    listed = tech.get("/api/v1/claims").get_json()
    assert listed["totals"] == {"paid": "129.00"}
    assert [e["text"].split(":")[0] for e in listed["claims"][0]["history"]] == [
        "Drafted.",
        "Submitted",
        "Approved.",
        f"Paid in {batch.get_json()['reference']}.",
    ]


def test_a_claim_sent_back_is_edited_and_resubmitted(
    world: dict[str, Any], client: FlaskClient
) -> None:
    tech, admin = world["tech"], world["admin"]
    client.post(
        f"/api/v1/repairs/{world['repair']}/proof",
        data={"proof": (io.BytesIO(PDF), "receipt.pdf")},
        headers=tech.headers(),
    )
    ref = tech.post(
        "/api/v1/claims", {"repair": world["repair"], "labour_code": "TV-PSU"}
    ).get_json()["reference"]
    tech.post(f"/api/v1/claims/{ref}/submit")
    asked = admin.post(f"/api/v1/claims/{ref}/decision", {"decision": "needs_information"})
    assert asked.status_code == 422  # a reason is required
    admin.post(
        f"/api/v1/claims/{ref}/decision",
        {"decision": "needs_information", "reason": "Which faulty serial?"},
    )
    stale = tech.post(f"/api/v1/claims/{ref}/edit", {"version": 0, "faulty_serial": "PSU-1"})
    assert stale.status_code == 409
    edited = tech.post(f"/api/v1/claims/{ref}/edit", {"version": 1, "faulty_serial": "PSU-1"})
    assert edited.status_code == 200, edited.get_json()
    assert edited.get_json()["faulty_serial"] == "PSU-1"
    assert (
        tech.post(f"/api/v1/claims/{ref}/submit", {"version": 2}).get_json()["status"]
        == "submitted"
    )


def test_a_part_line_with_an_over_long_serial_is_refused_and_nothing_changes(
    world: dict[str, Any],
) -> None:
    tech = world["tech"]
    long_serial = "S" * 41
    refused = tech.post(
        "/api/v1/claims",
        {
            "repair": world["repair"],
            "labour_code": "TV-PSU",
            "parts": [{"part_number": "1-474-594-12", "faulty_serial": long_serial}],
        },
    )
    assert refused.status_code == 422, refused.get_json()
    assert "faulty_serial" in str(refused.get_json())
    assert tech.get("/api/v1/claims").get_json()["claims"] == []
