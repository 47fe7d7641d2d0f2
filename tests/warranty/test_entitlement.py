"""Issue 17, entitlement: the standard term from a proven purchase date, extended coverage by
serial, and "unknown" when the proof is missing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from app.models import utcnow
from app.repairs import services as repairs
from app.repairs.settings import RepairSettings
from app.roles import Role
from app.warranty.entitlement import (
    Coverage,
    CoverageFileError,
    Status,
    Term,
    add_months,
    decide,
    entitlement,
    import_coverage,
    standard_until,
)
from app.warranty.models import CoverageKind, PurchaseProof, WarrantyTerm
from parts_catalog.importer import import_release
from tests.factories import make_user
from tests.parts_catalog.releases import base_release

TV = Term("product line TV", parts_months=24, labour_months=12)
BOUGHT = date(2025, 1, 10)


def test_months_stay_inside_the_month() -> None:
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 11, 15), 3) == date(2026, 2, 15)
    assert standard_until(BOUGHT, 12) == date(2026, 1, 9)


@pytest.mark.parametrize(
    ("today", "status", "summary"),
    [
        (
            date(2026, 1, 9),
            Status.IN_WARRANTY,
            "In warranty until 09 Jan 2027 (parts), 09 Jan 2026 (labour)",
        ),
        (
            date(2026, 1, 10),
            Status.IN_WARRANTY,
            "In warranty until 09 Jan 2027 (parts), 09 Jan 2026 (labour)",
        ),
        (
            date(2027, 1, 9),
            Status.IN_WARRANTY,
            "In warranty until 09 Jan 2027 (parts), 09 Jan 2026 (labour)",
        ),
        (date(2027, 1, 10), Status.OUT_OF_WARRANTY, "Out of warranty since 10 Jan 2027"),
    ],
)
def test_the_term_ends_on_the_day_before_the_anniversary(
    today: date, status: Status, summary: str
) -> None:
    found = decide(term=TV, purchase_on=BOUGHT, proof=True, coverage=[], today=today)
    assert found.status == status
    assert found.summary == summary
    assert found.parts_until == date(2027, 1, 9)
    assert found.labour_until == date(2026, 1, 9)


def test_a_purchase_date_without_proof_is_unknown() -> None:
    found = decide(term=TV, purchase_on=BOUGHT, proof=False, coverage=[], today=date(2025, 6, 1))
    assert found.status == Status.UNKNOWN
    assert found.proof_needed
    assert found.summary == "Unknown: proof of purchase needed"
    assert "no proof" in found.source


def test_extended_coverage_counts_by_serial_alone_and_the_later_date_wins() -> None:
    extended = Coverage(date(2028, 3, 31), CoverageKind.LABOUR, "extended coverage (ext.csv)")
    alone = decide(
        term=TV, purchase_on=None, proof=False, coverage=[extended], today=date(2027, 6, 1)
    )
    assert alone.status == Status.IN_WARRANTY
    assert alone.parts_until is None
    assert alone.labour_until == date(2028, 3, 31)
    both = decide(
        term=TV, purchase_on=BOUGHT, proof=True, coverage=[extended], today=date(2027, 6, 1)
    )
    assert (both.parts_until, both.labour_until) == (date(2027, 1, 9), date(2028, 3, 31))
    assert "standard warranty of product line TV" in both.source
    assert "extended coverage (ext.csv) to 31 Mar 2028" in both.source


@pytest.fixture
def catalogue(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r"), label="r")
    session.add(
        WarrantyTerm(product_line="TV", parts_months=24, labour_months=12, updated_at=utcnow())
    )
    session.add(
        WarrantyTerm(
            model_pattern="KDL-55*", parts_months=36, labour_months=36, updated_at=utcnow()
        )
    )
    session.flush()


@pytest.mark.usefixtures("catalogue")
def test_a_repair_with_proof_gives_the_entitlement_and_a_model_term_wins(session: Session) -> None:
    tech = make_user(session, role=Role.TECHNICIAN)
    repair, _ = repairs.open_repair(
        session,
        by=tech,
        asked=repairs.NewRepair("KDL-55W800C", "4012345", "No picture", purchase_on=BOUGHT),
        settings=RepairSettings(),
    )
    before = entitlement(
        session, model_number="KDL-55W800C", serial="4012345", today=date(2026, 6, 1)
    )
    assert before.status == Status.UNKNOWN
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
    after = entitlement(
        session, model_number="kdl55w800c", serial="4012345", today=date(2026, 6, 1)
    )
    assert after.status == Status.IN_WARRANTY
    assert after.parts_until == date(2028, 1, 9)  # the KDL-55* term (36 months) beats the TV line's


@pytest.mark.usefixtures("catalogue")
def test_coverage_imports_whole_or_not_at_all(session: Session) -> None:
    good = (
        "model_number,serial_from,serial_to,serial,ends_on,kind,note\n"
        "KDL-55W800C,4000000,4099999,,2029-12-31,parts_and_labour,Panel campaign 2026\n"
        "DSC-RX100M3,,,77,2027-01-31,parts,\n"
    )
    batch = import_coverage(session, text=good, filename="ext.csv", by="admin@example.com")
    assert batch.rows == 2
    found = entitlement(
        session, model_number="KDL-55W800C", serial="4012345", today=date(2029, 1, 1)
    )
    assert found.status == Status.IN_WARRANTY
    assert found.source == "Panel campaign 2026 to 31 Dec 2029"
    outside = entitlement(
        session, model_number="KDL-55W800C", serial="5012345", today=date(2029, 1, 1)
    )
    assert outside.status == Status.UNKNOWN

    bad = (
        "model_number,serial,ends_on,kind\n"
        "KDL-55W800C,4100000,2029-12-31,parts\n"
        "NOPE-1,1,2029-12-31,parts\n"
        "KDL-55W800C,2,31/12/2029,parts\n"
        "KDL-55W800C,3,2029-12-31,everything\n"
    )
    with pytest.raises(CoverageFileError) as refused:
        import_coverage(session, text=bad, filename="bad.csv", by="admin@example.com")
    assert list(refused.value.errors) == [
        "line 3, model_number: NOPE-1 is not a model",
        "line 4, ends_on: a date as YYYY-MM-DD",
        "line 5, kind: parts_and_labour, parts or labour",
    ]
    nothing = entitlement(
        session, model_number="KDL-55W800C", serial="4100000", today=date(2029, 1, 1)
    )
    assert nothing.status == Status.UNKNOWN  # its good first line was not imported either
