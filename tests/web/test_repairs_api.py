"""The repairs API with Bearer tokens: opening (201, 422 naming each field, 409 naming the open
repair, idempotent), reading, moving along, attaching, a unit's history across centres without
another centre's customer, and the exchange programme (request, repeat, an approver's decision)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth import services as accounts
from app.auth.models import User
from app.orders.models import Order
from app.repairs.models import UnitReturn
from app.roles import Role
from tests.factories import make_centre, make_user
from tests.repairs.bench import TV, load_bench, rule

CUSTOMER = "Mrs Marguerite Quixley"
CONTACT = "quixley@example.org"


@pytest.fixture
def bench(session: Session, tmp_path: Path) -> None:
    load_bench(session, tmp_path / "r1")
    session.commit()


class Caller:
    """A client that calls as one user with a Bearer token."""

    def __init__(self, client: FlaskClient, session: Session, user: User) -> None:
        self.client = client
        self.user = user
        self.token = accounts.issue_api_token(session, user)
        session.commit()

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    def get(self, url: str) -> Any:
        return self.client.get(url, headers=self._headers())

    def post(self, url: str, body: Any, **headers: str) -> Any:
        return self.client.post(url, json=body, headers=self._headers(headers))


@pytest.fixture
def people(client: FlaskClient, session: Session) -> dict[str, Caller]:
    north = make_centre(session, name="North")
    south = make_centre(session, name="South")
    users = {
        "north": make_user(session, role=Role.TECHNICIAN, centre=north),
        "north_manager": make_user(session, role=Role.CENTRE_MANAGER, centre=north),
        "south": make_user(session, role=Role.TECHNICIAN, centre=south),
        "admin": make_user(session, role=Role.ADMIN),
        "approver": make_user(session, role=Role.EXCHANGE_APPROVER),
        "engineer": make_user(session, role=Role.ENGINEER),
    }
    return {name: Caller(client, session, user) for name, user in users.items()}


def _open(caller: Caller, serial: str = "4012345", **more: Any) -> Any:
    body = {"model_number": "kdl-55w800c", "serial": serial, "complaint": "No picture", **more}
    return caller.post("/api/v1/repairs", body)


@pytest.mark.usefixtures("bench")
def test_opening_a_repair_answers_its_reference_and_follows_up(people: dict[str, Caller]) -> None:
    north = people["north"]
    opened = _open(north, purchase_date="2025-11-02", customer_name=CUSTOMER)
    assert opened.status_code == 201, opened.get_json()
    body = opened.get_json()
    assert body["reference"].startswith("REP-")
    assert len(body["reference"]) == len("REP-2026-000001")
    assert body["status"] == "open"
    assert body["redo_of"] is None
    assert body["model_number"] == TV
    assert body["links"]["self"] == f"/api/v1/repairs/{body['reference']}"
    got = north.get(body["links"]["self"])
    assert got.status_code == 200
    repair = got.get_json()
    assert repair["purchase_date"] == "2025-11-02"
    assert repair["customer_name"] == CUSTOMER
    assert [e["kind"] for e in repair["timeline"]] == ["opened"]
    assert north.get(body["links"]["history"]).status_code == 200


@pytest.mark.usefixtures("bench")
def test_a_refused_repair_names_every_field_at_once(people: dict[str, Caller]) -> None:
    north = people["north"]
    refused = north.post(
        "/api/v1/repairs",
        {"model_number": "KDL-00NOPE", "serial": 12, "purchase_date": "02/11/2025"},
    )
    assert refused.status_code == 422
    body = refused.get_json()
    assert set(body["errors"]) == {"model_number", "serial", "complaint", "purchase_date"}
    assert body["errors"]["serial"] == "Must be text."
    assert "YYYY-MM-DD" in body["errors"]["purchase_date"]
    unknown = north.post(
        "/api/v1/repairs",
        {"model_number": TV, "serial": "1", "complaint": "x", "purchase_on": "2025-01-01"},
    )
    assert unknown.status_code == 422
    assert "purchase_on" in unknown.get_json()["errors"]
    assert north.post("/api/v1/repairs", ["not", "an", "object"]).status_code == 422
    # Only a service centre's people open repairs.
    assert _open(people["admin"]).status_code == 403


@pytest.mark.usefixtures("bench")
def test_a_unit_in_repair_here_is_a_409_naming_the_repair(
    people: dict[str, Caller], session: Session
) -> None:
    first = _open(people["north"]).get_json()
    clash = _open(people["north_manager"], "40 12 345")
    assert clash.status_code == 409
    body = clash.get_json()
    assert body["status"] == 409
    assert first["reference"] in body["message"]
    assert body["repair"]["reference"] == first["reference"]
    assert body["repair"]["url"] == f"/api/v1/repairs/{first['reference']}"
    # Another centre holds its own repair of the unit.
    assert _open(people["south"]).status_code == 201


@pytest.mark.usefixtures("bench")
def test_an_idempotency_key_answers_the_same_repair(people: dict[str, Caller]) -> None:
    north = people["north"]
    body = {"model_number": TV, "serial": "4012345", "complaint": "No picture"}
    first = north.post("/api/v1/repairs", body, **{"Idempotency-Key": "abc-1"})
    again = north.post("/api/v1/repairs", body, **{"Idempotency-Key": "abc-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["reference"] == first.get_json()["reference"]
    other = north.post(
        "/api/v1/repairs", {**body, "serial": "4099999"}, **{"Idempotency-Key": "abc-1"}
    )
    assert other.status_code == 409


@pytest.mark.usefixtures("bench")
def test_another_centres_repair_is_missing_and_its_customer_never_shown(
    people: dict[str, Caller], session: Session
) -> None:
    north, south = people["north"], people["south"]
    theirs = _open(
        south, customer_name=CUSTOMER, customer_contact=CONTACT, complaint=f"{CUSTOMER} says"
    ).get_json()
    # Repaired at South; the same serial comes to North within REDO_DAYS.
    done = south.post(f"/api/v1/repairs/{theirs['reference']}/status", {"status": "repaired"})
    assert done.status_code == 200, done.get_json()
    ours = _open(north).get_json()
    assert ours["redo_of"] == theirs["reference"]

    missing = north.get(f"/api/v1/repairs/{theirs['reference']}")
    nothing = north.get("/api/v1/repairs/REP-2026-999999")
    assert (missing.status_code, nothing.status_code) == (404, 404)
    assert missing.get_json()["message"].replace(theirs["reference"], "X") == nothing.get_json()[
        "message"
    ].replace("REP-2026-999999", "X")
    assert CUSTOMER not in missing.get_data(as_text=True)
    acting = north.post(f"/api/v1/repairs/{theirs['reference']}/status", {"status": "closed"})
    assert acting.status_code == 404

    seen = north.get(f"/api/v1/serials/{TV}/4012345/history")
    assert seen.status_code == 200
    text = seen.get_data(as_text=True)
    assert CUSTOMER not in text
    assert CONTACT not in text
    history = seen.get_json()
    by_ref = {r["reference"]: r for r in history["repairs"]}
    assert set(by_ref) == {ours["reference"], None}
    other = by_ref[None]
    assert other["centre"] == "South"
    assert other["own"] is False
    assert other["outcome"] == "repaired"
    assert other["redo"] is True
    for key in ("customer_name", "customer_contact", "complaint"):
        assert key in other
        assert other[key] is None
    assert by_ref[ours["reference"]]["redo"] is True

    # The engineer, who repairs for no centre, sees no one's customer either.
    assert CUSTOMER not in people["engineer"].get(f"/api/v1/serials/{TV}/4012345/history").text
    # Admins see everything; an exchange approver sees the repairs, not the customer.
    full = people["admin"].get(f"/api/v1/serials/{TV}/4012345/history").get_json()
    assert {r["reference"] for r in full["repairs"]} == {ours["reference"], theirs["reference"]}
    assert {r["customer_name"] for r in full["repairs"]} == {CUSTOMER, None}
    approver = people["approver"].get(f"/api/v1/repairs/{theirs['reference']}")
    assert approver.status_code == 200
    assert approver.get_json()["customer_name"] is None
    assert people["admin"].get(f"/api/v1/repairs/{theirs['reference']}").get_json()[
        "customer_contact"
    ] == (CONTACT)


@pytest.mark.usefixtures("bench")
def test_status_changes_and_links_over_the_api(people: dict[str, Caller], session: Session) -> None:
    north = people["north"]
    ref = _open(north).get_json()["reference"]
    moved = north.post(
        f"/api/v1/repairs/{ref}/status", {"status": "waiting_parts", "seen": "open", "note": "PSU"}
    )
    assert moved.status_code == 200
    assert moved.get_json()["timeline"][-1]["text"] == "Open → Waiting parts: PSU"
    stale = north.post(f"/api/v1/repairs/{ref}/status", {"status": "repaired", "seen": "open"})
    assert stale.status_code == 409
    refused = north.post(f"/api/v1/repairs/{ref}/status", {"status": "exchanged"})
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"status": "Request an exchange instead."}

    walk = north.post("/api/v1/diagnostics/sessions", {"tree": "psu"})
    assert walk.status_code == 201, walk.get_json()
    walk_id = walk.get_json()["id"]
    linked = north.post(f"/api/v1/repairs/{ref}/links", {"kind": "walk", "ref": walk_id})
    assert linked.status_code == 201, linked.get_json()
    again = north.post(f"/api/v1/repairs/{ref}/links", {"kind": "walk", "ref": walk_id})
    assert again.status_code == 200
    attached = again.get_json()["attached"]
    assert [(a["kind"], a["ref"], a["tree"]) for a in attached] == [("walk", walk_id, "psu")]
    theirs = people["south"].post("/api/v1/diagnostics/sessions", {"tree": "psu"}).get_json()
    foreign = north.post(f"/api/v1/repairs/{ref}/links", {"kind": "walk", "ref": theirs["id"]})
    assert foreign.status_code == 422
    assert foreign.get_json()["errors"] == {"ref": "Check the number."}


def _count(session: Session, table: Any) -> int:
    return session.scalar(select(func.count()).select_from(table)) or 0


@pytest.mark.usefixtures("bench")
def test_an_exchange_request_and_its_repeat_answer_one_order_and_rma(
    people: dict[str, Caller], session: Session
) -> None:
    rule(session, product_line="TV", value=Decimal("100.00"), core_charge=Decimal("35.00"))
    session.commit()
    north = people["north"]
    ref = _open(north).get_json()["reference"]
    walk = north.post("/api/v1/diagnostics/sessions", {"tree": "psu"}).get_json()["id"]
    north.post(f"/api/v1/repairs/{ref}/links", {"kind": "walk", "ref": walk})
    asked = north.post(f"/api/v1/repairs/{ref}/exchange", {"walk": walk})
    assert asked.status_code == 201, asked.get_json()
    body = asked.get_json()
    assert body["status"] == "approved"
    assert body["authorisation"].startswith("EXA-")
    assert "would cost more than the unit's value (100.00)" in body["reason"]
    assert body["inputs"]["estimate"]["total"] == "111.50"
    assert body["inputs"]["value"] == "100.00"
    assert body["inputs"]["walk"]["id"] == walk
    assert body["rma"]["rma"].startswith("RMA-")
    assert body["rma"]["core_charge"] == "35.00"
    assert body["order"]["id"]
    repeat = north.post(f"/api/v1/repairs/{ref}/exchange", {})
    assert repeat.status_code == 200
    assert repeat.get_json()["order"] == body["order"]
    assert repeat.get_json()["rma"]["rma"] == body["rma"]["rma"]
    assert (_count(session, Order), _count(session, UnitReturn)) == (1, 1)
    repair = north.get(f"/api/v1/repairs/{ref}").get_json()
    assert repair["status"] == "exchanged"
    assert repair["exchanges"][0]["rma"]["rma"] == body["rma"]["rma"]
    assert any(body["rma"]["rma"] in e["text"] for e in repair["timeline"])
    # Another centre cannot ask for it.
    assert people["south"].post(f"/api/v1/repairs/{ref}/exchange", {}).status_code == 404


@pytest.mark.usefixtures("bench")
def test_an_approver_decides_a_pending_exchange_over_the_api(
    people: dict[str, Caller], session: Session
) -> None:
    rule(session, product_line="TV", value=Decimal("100.00"), auto_approve=False)
    session.commit()
    north = people["north"]
    ref = _open(north).get_json()["reference"]
    walk = north.post("/api/v1/diagnostics/sessions", {"tree": "psu"}).get_json()["id"]
    north.post(f"/api/v1/repairs/{ref}/links", {"kind": "walk", "ref": walk})
    pending = north.post(f"/api/v1/repairs/{ref}/exchange", {}).get_json()
    assert pending["status"] == "pending"
    assert pending["order"] is None
    assert pending["rma"] is None
    number = pending["authorisation"]
    url = f"/api/v1/exchanges/{number}/decision"
    assert north.post(url, {"approve": True}).status_code == 403
    approver = people["approver"]
    assert approver.post(url, {"approve": False}).status_code == 422  # a refusal says why
    assert approver.post(url, {"approve": "yes"}).status_code == 422
    decided = approver.post(url, {"approve": True, "note": "Board on backorder"})
    assert decided.status_code == 200, decided.get_json()
    body = decided.get_json()
    assert body["status"] == "approved"
    assert body["rma"]["rma"].startswith("RMA-")
    assert body["inputs"] == pending["inputs"]
    assert approver.post(url, {"approve": False, "note": "too late"}).status_code == 409
    missing = people["admin"].post("/api/v1/exchanges/EXA-2026-999999/decision", {"approve": True})
    assert missing.status_code == 404
    assert json.loads(missing.get_data(as_text=True))["status"] == 404


@pytest.mark.usefixtures("bench")
@pytest.mark.parametrize("ref", ["99999999999", "²", "٣"])
def test_an_order_number_no_order_can_have_is_refused_not_a_crash(
    people: dict[str, Caller], ref: str
) -> None:
    """Found here: a number beyond the id column (PostgreSQL: out of range) or a digit that is
    not 0-9 (``"²".isdigit()``) made a 500."""
    north = people["north"]
    reference = _open(north).get_json()["reference"]
    answer = north.post(f"/api/v1/repairs/{reference}/links", {"kind": "order", "ref": ref})
    assert answer.status_code == 422
    assert answer.get_json()["errors"] == {"ref": "Check the number."}


@pytest.mark.usefixtures("bench")
def test_an_approver_reads_the_repair_without_the_customers_words(
    people: dict[str, Caller],
) -> None:
    """The approver decides from the estimate and the walk; the complaint's free text (which may
    name the customer) stays with the centre, as in the unit's history."""
    north = people["north"]
    reference = _open(north, complaint=f"{CUSTOMER} dropped it").get_json()["reference"]
    seen = people["approver"].get(f"/api/v1/repairs/{reference}")
    assert seen.status_code == 200
    assert CUSTOMER not in seen.get_data(as_text=True)
    assert seen.get_json()["complaint"] is None
    assert CUSTOMER in north.get(f"/api/v1/repairs/{reference}").get_data(as_text=True)


@pytest.mark.usefixtures("bench")
def test_a_pending_exchange_of_a_repair_that_ended_meanwhile_cannot_be_approved(
    people: dict[str, Caller], session: Session
) -> None:
    """Found here: the centre repaired the unit while the request waited, and an approval still
    ordered a replacement unit and an RMA for it."""
    rule(session, product_line="TV", value=Decimal("100.00"), auto_approve=False)
    session.commit()
    north = people["north"]
    ref = _open(north).get_json()["reference"]
    walk = north.post("/api/v1/diagnostics/sessions", {"tree": "psu"}).get_json()["id"]
    north.post(f"/api/v1/repairs/{ref}/links", {"kind": "walk", "ref": walk})
    number = north.post(f"/api/v1/repairs/{ref}/exchange", {}).get_json()["authorisation"]
    assert north.post(f"/api/v1/repairs/{ref}/status", {"status": "repaired"}).status_code == 200
    url = f"/api/v1/exchanges/{number}/decision"
    approved = people["approver"].post(url, {"approve": True})
    assert approved.status_code == 409
    assert "repaired" in approved.get_json()["message"]
    assert _count(session, Order) == 0
    refused = people["approver"].post(url, {"approve": False, "note": "Repaired meanwhile."})
    assert refused.status_code == 200
    assert refused.get_json()["status"] == "refused"


@pytest.mark.usefixtures("bench")
def test_an_exchange_request_needs_no_body(people: dict[str, Caller], session: Session) -> None:
    rule(session, product_line="TV", value=Decimal("100.00"))
    session.commit()
    north = people["north"]
    ref = _open(north).get_json()["reference"]
    walk = north.post("/api/v1/diagnostics/sessions", {"tree": "psu"}).get_json()["id"]
    north.post(f"/api/v1/repairs/{ref}/links", {"kind": "walk", "ref": walk})
    asked = north.client.post(
        f"/api/v1/repairs/{ref}/exchange", headers={"Authorization": f"Bearer {north.token}"}
    )
    assert asked.status_code == 201, asked.get_json()
    assert asked.get_json()["status"] == "approved"


@pytest.mark.usefixtures("bench")
def test_a_walk_started_from_a_repair_is_of_its_unit_and_attached(
    people: dict[str, Caller],
) -> None:
    north = people["north"]
    ref = _open(north).get_json()["reference"]
    started = north.post(f"/api/v1/repairs/{ref}/walks", {"tree": "psu"})
    assert started.status_code == 201, started.get_json()
    walk = started.get_json()
    assert walk["repair"] == ref
    repair = north.get(f"/api/v1/repairs/{ref}").get_json()
    assert [(a["kind"], a["ref"]) for a in repair["attached"]] == [("walk", walk["id"])]
    history = north.get(f"/api/v1/serials/{TV}/4012345/history").get_json()
    assert [w["id"] for w in history["repairs"][0]["walks"]] == [walk["id"]]
    assert history["walks"] == []  # attached walks are not listed loose
    assert north.post(f"/api/v1/repairs/{ref}/walks", {"tree": "nope"}).status_code == 404
    assert people["south"].post(f"/api/v1/repairs/{ref}/walks", {"tree": "psu"}).status_code == (
        404
    )
