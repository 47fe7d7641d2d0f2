"""Issue 17, claims: every problem at once before submitting, a corrected claim resubmitted as
the same claim with its history, two submits racing, and payment batches that add up."""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.exceptions import Conflict, Invalid
from app.models import utcnow
from app.orders import services as orders
from app.repairs import services as repairs
from app.repairs.models import Repair
from app.repairs.settings import RepairSettings
from app.roles import Role
from app.warranty import claims
from app.warranty.models import (
    Claim,
    ClaimStatus,
    LabourRate,
    LineKind,
    PurchaseProof,
    WarrantyTerm,
)
from app.warranty.settings import WarrantySettings
from diagnostics import services as diagnostics
from parts_catalog.importer import import_release
from tests import database
from tests.factories import make_user
from tests.parts_catalog.releases import base_release

SETTINGS = WarrantySettings(handling_fee=Decimal("15.00"), travel_lines=("TV",))


def _setup(session: Session, tmp_path: Path) -> tuple[User, User, Repair]:
    import_release(session, path=base_release(tmp_path / "r"), label="r")
    session.add(
        WarrantyTerm(product_line="TV", parts_months=24, labour_months=12, updated_at=utcnow())
    )
    session.add_all(
        [
            LabourRate(
                code="TV-PSU",
                product_line="TV",
                repair_kind="Power board",
                amount=Decimal("40.00"),
                effective_on=date(2020, 1, 1),
            ),
            LabourRate(
                code="TV-PSU",
                product_line="TV",
                repair_kind="Power board",
                amount=Decimal("45.00"),
                effective_on=date(2099, 1, 1),  # not yet in effect
            ),
            LabourRate(
                code="CAM-LENS",
                product_line="Camera",
                repair_kind="Lens unit",
                amount=Decimal("30.00"),
                effective_on=date(2020, 1, 1),
            ),
        ]
    )
    tech = make_user(session, role=Role.TECHNICIAN)
    admin = make_user(session, role=Role.ADMIN)
    repair, _ = repairs.open_repair(
        session,
        by=tech,
        asked=repairs.NewRepair(
            "KDL-55W800C",
            "4012345",
            "No power",
            purchase_on=utcnow().date() - timedelta(days=100),
        ),
        settings=RepairSettings(),
    )
    order, _ = orders.place(
        session, tech, [orders.Asked("1-474-594-12", 1)], kind="warranty", job=repair.serial
    )
    assert repair.reference is not None
    repairs.attach(session, repair, kind="order", ref=str(order.id), by=tech)
    session.flush()
    return tech, admin, repair


def _prove(session: Session, repair: Repair, tech: User) -> None:
    session.add(
        PurchaseProof(
            repair_id=repair.id,
            filename="receipt.pdf",
            content_type="application/pdf",
            size=5,
            content=b"%PDF-",
            uploaded_by=tech.email,
            uploaded_at=utcnow(),
        )
    )
    session.flush()


def test_every_problem_is_named_at_once_and_nothing_is_submitted(
    session: Session, tmp_path: Path
) -> None:
    tech, _admin, repair = _setup(session, tmp_path)
    claim = claims.draft_claim(
        session,
        repair,
        by=tech,
        labour_code="CAM-LENS",
        parts=[claims.PartClaimed("A-2072-533-A", 1)],
        travel=Decimal("12.00"),
        settings=SETTINGS,
    )
    assert claim.reference is not None
    assert claim.reference.startswith("CLM-")
    with pytest.raises(Invalid) as refused:
        claims.submit(session, claim, by=tech, seen_version=claim.version, settings=SETTINGS)
    assert list(refused.value.errors) == [
        "Missing proof of purchase: the purchase date has no proof attached.",
        "Labour code CAM-LENS is for Camera, not for KDL-55W800C (TV).",
        "Part A-2072-533-A was not ordered for this repair on a warranty order.",
    ]
    assert claim.status == ClaimStatus.DRAFT


def test_not_in_warranty_unknown_code_and_a_duplicate_are_named(
    session: Session, tmp_path: Path
) -> None:
    tech, admin, repair = _setup(session, tmp_path)
    _prove(session, repair, tech)
    first = claims.draft_claim(session, repair, by=tech, labour_code="TV-PSU", settings=SETTINGS)
    first.fault = "NOPOWER"
    claims.submit(session, first, by=tech, seen_version=first.version, settings=SETTINGS)
    repairs.change_status(session, repair, to="repaired", seen="open", by=tech)
    again, _ = repairs.open_repair(
        session,
        by=tech,
        asked=repairs.NewRepair(
            "KDL-55W800C", "4012345", "No power again", purchase_on=date(2000, 1, 1)
        ),
        settings=RepairSettings(),
    )
    _prove(session, again, tech)
    second = claims.draft_claim(session, again, by=tech, labour_code="TV-XYZ", settings=SETTINGS)
    second.fault = "NOPOWER"
    found = claims.problems(session, second, settings=SETTINGS)
    assert found[0].startswith("Not in warranty when the repair was opened: Out of warranty since")
    assert found[1] == f"Labour code TV-XYZ is not in effect on {again.opened_at.date():%d %b %Y}."
    assert found[2] == (
        f"Duplicate: {first.reference} claims the same fault (NOPOWER) for serial 4012345 "
        "within 90 days."
    )
    assert admin  # the reviewer is not needed here


def test_a_claim_sent_back_is_corrected_and_resubmitted_with_its_history(
    session: Session, tmp_path: Path
) -> None:
    tech, admin, repair = _setup(session, tmp_path)
    _prove(session, repair, tech)
    claim = claims.draft_claim(session, repair, by=tech, labour_code="TV-PSU", settings=SETTINGS)
    assert [(line.kind, line.amount) for line in claim.lines] == [
        (LineKind.LABOUR, Decimal("40.00")),  # the rate in effect at the repair's date
        (LineKind.PART, Decimal("89.00")),
    ]
    claims.submit(session, claim, by=tech, seen_version=1, settings=SETTINGS)
    with pytest.raises(Invalid):
        claims.decide(session, claim, by=admin, decision="needs_information", reason="")
    claims.decide(
        session, claim, by=admin, decision="needs_information", reason="Travel: where to?"
    )
    with pytest.raises(Conflict):
        claims.edit_claim(session, claim, by=tech, seen_version=0, settings=SETTINGS)
    claims.edit_claim(
        session, claim, by=tech, seen_version=1, settings=SETTINGS, travel=Decimal("12.50")
    )
    claims.submit(session, claim, by=tech, seen_version=2, settings=SETTINGS)
    claims.decide(session, claim, by=admin, decision="approve", reason="")
    assert claim.status == ClaimStatus.APPROVED
    assert claim.total == Decimal("141.50")
    assert [e.text.split(":")[0].split(" (")[0] for e in claim.events] == [
        "Drafted.",
        "Submitted",
        "Needs information",
        "Edited",
        "Submitted",
        "Approved.",
    ]
    assert session.scalar(select(func.count()).select_from(Claim)) == 1


def test_a_payment_batch_totals_the_sum_of_its_lines_and_pays_each_claim_once(
    session: Session, tmp_path: Path
) -> None:
    tech, admin, repair = _setup(session, tmp_path)
    _prove(session, repair, tech)
    claim = claims.draft_claim(session, repair, by=tech, labour_code="TV-PSU", settings=SETTINGS)
    claim.lines[0].description = "=HYPERLINK(1)"
    claims.submit(session, claim, by=tech, seen_version=1, settings=SETTINGS)
    claims.decide(session, claim, by=admin, decision="approve", reason="")
    today = utcnow().date()
    assert tech.centre_id is not None
    batch = claims.pay(
        session, centre_id=tech.centre_id, period_from=today, period_to=today, by=admin
    )
    with pytest.raises(Invalid, match="nothing was paid"):
        claims.pay(session, centre_id=tech.centre_id, period_from=today, period_to=today, by=admin)
    assert claim.status == ClaimStatus.PAID
    rows = list(csv.reader(io.StringIO(claims.batch_csv(session, batch))))
    amounts = [Decimal(r[6]) for r in rows[1:-1]]
    assert sum(amounts) == batch.total == Decimal("129.00")
    assert rows[-1][4:] == ["total", "", "129.00"]
    assert rows[1][5] == "'=HYPERLINK(1)"


@pytest.fixture
def committed_claim(engine: Engine, tmp_path: Path) -> Iterator[tuple[int, int]]:
    with Session(engine) as session:
        tech, _admin, repair = _setup(session, tmp_path)
        _prove(session, repair, tech)
        claim = claims.draft_claim(
            session, repair, by=tech, labour_code="TV-PSU", settings=SETTINGS
        )
        session.commit()
        ids = (tech.id, claim.id)
    yield ids
    database.delete_all_rows(engine)


def _twice_at_once(
    engine: Engine, ids: tuple[int, int], act: Callable[[Session, User, Claim, int], None]
) -> list[str]:
    """Run ``act`` from two threads at once, each as if it had seen version 1; their answers."""
    tech_id, claim_id = ids
    ready = threading.Barrier(2)
    answers: list[str] = []

    def run(n: int) -> None:
        for attempt in range(100):
            with Session(engine) as session:
                tech = session.get(User, tech_id)
                claim = session.get(Claim, claim_id)
                assert tech is not None
                assert claim is not None
                if attempt == 0:
                    ready.wait(10)
                try:
                    act(session, tech, claim, n)
                    session.commit()
                    answers.append("done")
                    return
                except Conflict:
                    answers.append("conflict")
                    return
                except Exception as exc:
                    session.rollback()
                    if "locked" not in str(exc):
                        raise
                    time.sleep(0.01)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return sorted(answers)


def test_two_submits_at_once_submit_once(engine: Engine, committed_claim: tuple[int, int]) -> None:
    def submit(session: Session, tech: User, claim: Claim, _n: int) -> None:
        claims.submit(session, claim, by=tech, seen_version=1, settings=SETTINGS)

    answers = _twice_at_once(engine, committed_claim, submit)
    with Session(engine) as session:
        claim = session.get(Claim, committed_claim[1])
        assert claim is not None
        submitted = [e for e in claim.events if e.text.startswith("Submitted")]
    print(f"\ntwo submits of one claim at once ({engine.dialect.name}): {answers}")
    assert answers == ["conflict", "done"]
    assert len(submitted) == 1


def test_two_corrections_at_once_change_the_claim_once(
    engine: Engine, committed_claim: tuple[int, int]
) -> None:
    faults = ("PSU-RELAY", "PSU-FUSE")

    def correct(session: Session, tech: User, claim: Claim, n: int) -> None:
        claims.edit_claim(
            session, claim, by=tech, seen_version=1, settings=SETTINGS, fault=faults[n]
        )

    answers = _twice_at_once(engine, committed_claim, correct)
    with Session(engine) as session:
        claim = session.get(Claim, committed_claim[1])
        assert claim is not None
        edits = [e for e in claim.events if e.text.startswith("Edited")]
        print(f"\ntwo corrections of one claim at once ({engine.dialect.name}): {answers}")
        assert answers == ["conflict", "done"]
        assert claim.version == 2
        assert len(edits) == 1
        assert claim.fault in faults


def test_flags_are_set_at_submission_and_keep_a_claim_from_the_rules(
    session: Session, tmp_path: Path
) -> None:
    tech, _admin, repair = _setup(session, tmp_path)
    _prove(session, repair, tech)
    eager = WarrantySettings(auto_approve_under=Decimal("1000"))
    claim = claims.draft_claim(
        session, repair, by=tech, labour_code="TV-PSU", travel=Decimal("9.00"), settings=eager
    )
    claims.submit(session, claim, by=tech, seen_version=1, settings=eager)
    assert claim.flags == ["No diagnosis is attached to the repair.", "Travel is claimed."]
    assert claim.status == ClaimStatus.SUBMITTED  # flagged: a person decides

    repairs.change_status(session, repair, to="repaired", seen="open", by=tech)
    again, _ = repairs.open_repair(
        session,
        by=tech,
        asked=repairs.NewRepair("KDL-55W800C", "4012345", "Dead", purchase_on=repair.purchase_on),
        settings=RepairSettings(),
    )
    assert again.redo_of_id == repair.id
    assert (
        claims.flags_of(
            session,
            claims.draft_claim(session, again, by=tech, labour_code="TV-PSU", settings=eager),
        )[0]
        == f"A redo of {repair.reference}."
    )


def test_a_small_unflagged_claim_is_approved_by_the_rules(session: Session, tmp_path: Path) -> None:
    tech, _admin, repair = _setup(session, tmp_path)
    _prove(session, repair, tech)
    walk_tree = (
        "id: psu\ntitle: No power\nproduct_line: TV\nmodels: ['KDL-*']\nstart: fix\n"
        "nodes:\n  fix: {kind: fix, text: Replace the power board, "
        "parts: [{part: '1-474-594-11', qty: 1}], labour_minutes: 30}\n"
    )

    diagnostics.import_tree(session, walk_tree, publish=True, by="e@example.com")
    repairs.start_walk(session, repair, tree_id="psu", by=tech)
    eager = WarrantySettings(auto_approve_under=Decimal("1000"))
    claim = claims.draft_claim(session, repair, by=tech, labour_code="TV-PSU", settings=eager)
    claims.submit(session, claim, by=tech, seen_version=1, settings=eager)
    assert claim.flags == []
    assert claim.status == ClaimStatus.APPROVED
    assert claim.decided_by == "rules"
