"""Keeping the warranty's tables: labour rates versioned by effective date (two keepers adding the
same version at once make one row), the codes a claim form offers, and warranty terms."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.exceptions import Conflict, Invalid, NotAllowed
from app.repairs import services as repairs
from app.repairs.settings import RepairSettings
from app.roles import Role
from app.warranty import keeping
from app.warranty.entitlement import term_for
from app.warranty.models import LabourRate, WarrantyTerm
from parts_catalog.importer import import_release
from tests import database
from tests.factories import make_user
from tests.parts_catalog.releases import base_release


def _rate(session: Session, by: User, code: str, line: str, amount: str, on: date) -> LabourRate:
    return keeping.add_rate(
        session,
        by=by,
        code=code,
        product_line=line,
        repair_kind="Power board",
        amount=Decimal(amount),
        effective_on=on,
    )


def test_a_new_amount_is_a_new_version_and_a_claim_form_offers_the_one_in_effect(
    session: Session, tmp_path: Path
) -> None:
    import_release(session, path=base_release(tmp_path / "r"), label="r")
    engineer = make_user(session, role=Role.ENGINEER)
    _rate(session, engineer, " tv-psu ", "TV", "40", date(2020, 1, 1))
    _rate(session, engineer, "TV-PSU", "tv", "45.00", date(2099, 1, 1))  # not yet in effect
    _rate(session, engineer, "CAM-LENS", "Camera", "30.00", date(2020, 1, 1))
    found = keeping.rates(session)
    assert [(c.code, [f"{v.amount}" for v in c.versions]) for c in found] == [
        ("CAM-LENS", ["30.00"]),
        ("TV-PSU", ["45.00", "40.00"]),
    ]
    tech = make_user(session, role=Role.TECHNICIAN)
    repair, _ = repairs.open_repair(
        session,
        by=tech,
        asked=repairs.NewRepair("KDL-55W800C", "4012345", "No power"),
        settings=RepairSettings(),
    )
    offered = keeping.codes_for(session, repair)
    assert [(c.code, c.label, c.own_line) for c in offered] == [
        ("TV-PSU", "TV-PSU: Power board (40.00)", True),
        ("CAM-LENS", "CAM-LENS: Power board (30.00), Camera", False),
    ]
    with pytest.raises(Invalid) as refused:
        _rate(session, engineer, "TV-PSU", "Camera", "-1", date(2021, 1, 1))
    assert refused.value.errors == {
        "amount": "An amount such as 40.00.",
        "product_line": "TV-PSU is a TV code: a code stays with its product line.",
    }
    with pytest.raises(Conflict):
        _rate(session, engineer, "TV-PSU", "TV", "41.00", date(2020, 1, 1))
    with pytest.raises(NotAllowed):
        _rate(session, tech, "TV-X", "TV", "1.00", date(2020, 1, 1))
    # The refused ones left nothing behind, and the session goes on.
    assert session.scalar(select(func.count()).select_from(LabourRate)) == 3


def test_a_term_is_set_per_line_or_glob_and_changed_in_place(session: Session) -> None:
    admin = make_user(session, role=Role.ADMIN)
    keeping.set_term(
        session, by=admin, product_line="TV", model_pattern=None, parts_months=24, labour_months=12
    )
    keeping.set_term(
        session,
        by=admin,
        product_line=None,
        model_pattern="kdl-55*",
        parts_months=36,
        labour_months=24,
    )
    keeping.set_term(
        session, by=admin, product_line="TV", model_pattern="", parts_months=18, labour_months=6
    )
    assert session.scalar(select(func.count()).select_from(WarrantyTerm)) == 2
    assert [(t.model_pattern, t.product_line, t.parts_months) for t in keeping.terms(session)] == [
        ("KDL-55*", None, 36),
        (None, "TV", 18),
    ]
    found = term_for(session, "KDL-32R400", "TV")
    assert found is not None
    assert (found.parts_months, found.labour_months) == (18, 6)
    for line, pattern in (("TV", "KDL-*"), ("", "")):
        with pytest.raises(Invalid) as refused:
            keeping.set_term(
                session,
                by=admin,
                product_line=line,
                model_pattern=pattern,
                parts_months=121,
                labour_months=1,
            )
        assert set(refused.value.errors) == {"product_line", "parts_months"}


@pytest.fixture
def keepers(engine: Engine) -> Iterator[tuple[int, int]]:
    with Session(engine) as session:
        ids = (
            make_user(session, role=Role.ENGINEER).id,
            make_user(session, role=Role.ADMIN).id,
        )
        session.commit()
    yield ids
    database.delete_all_rows(engine)


def test_two_keepers_adding_one_version_at_once_add_it_once(
    engine: Engine, keepers: tuple[int, int]
) -> None:
    ready = threading.Barrier(2)
    answers: list[str] = []

    def add(user_id: int, amount: str) -> None:
        for attempt in range(100):
            with Session(engine) as session:
                user = session.get(User, user_id)
                assert user is not None
                if attempt == 0:
                    ready.wait(10)
                try:
                    _rate(session, user, "TV-PSU", "TV", amount, date(2027, 1, 1))
                    session.commit()
                    answers.append("added")
                    return
                except Conflict:
                    answers.append("conflict")
                    return
                except Exception as exc:
                    session.rollback()
                    if "locked" not in str(exc):
                        raise
                    time.sleep(0.01)

    threads = [
        threading.Thread(target=add, args=(user_id, amount))
        for user_id, amount in zip(keepers, ("44.00", "46.00"), strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    with Session(engine) as session:
        rows = session.scalars(select(LabourRate)).all()
    print(
        f"\ntwo keepers adding one rate version at once ({engine.dialect.name}): {sorted(answers)}"
    )
    assert sorted(answers) == ["added", "conflict"]
    assert len(rows) == 1
