"""A first walk through the repairs core: open, redo, attach a walk, exchange."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from app.models import utcnow
from app.repairs import exchange, services
from app.repairs.models import ExchangeRule, RepairStatus
from app.repairs.settings import RepairSettings
from app.roles import Role
from diagnostics import services as diagnostics
from parts_catalog.importer import import_release
from tests.factories import make_user
from tests.parts_catalog.releases import base_release

SETTINGS = RepairSettings(redo_days=90)


def test_a_repair_is_opened_redone_walked_and_exchanged(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r"), label="r")
    tech = make_user(session, role=Role.TECHNICIAN)
    asked = services.NewRepair("kdl-55w800c", "4012345", "No picture")
    first, new = services.open_repair(session, by=tech, asked=asked, settings=SETTINGS)
    assert new
    assert first.reference
    assert first.reference.startswith("REP-")
    assert first.model_number == "KDL-55W800C"
    services.change_status(session, first, to="repaired", seen="open", by=tech)
    assert first.closed_at is not None
    first.closed_at = utcnow() - timedelta(days=90)
    second, _ = services.open_repair(session, by=tech, asked=asked, settings=SETTINGS)
    assert second.redo_of_id == first.id

    session.add(ExchangeRule(product_line="TV", value=Decimal("50.00"), updated_at=utcnow()))
    tree = (
        "id: psu\ntitle: No power\nproduct_line: TV\nmodels: ['KDL-*']\nstart: fix\n"
        "nodes:\n  fix: {kind: fix, text: Replace the power board, "
        "parts: [{part: '1-474-594-11', qty: 1}], labour_minutes: 30}\n"
    )
    diagnostics.import_tree(session, tree, publish=True, by="e@example.com")
    walk = services.start_walk(session, second, tree_id="psu", by=tech)
    assert walk.outcome == "fix"
    authorisation, made = exchange.request_exchange(session, second, by=tech)
    assert made, authorisation.reason
    assert authorisation.status == "approved", authorisation.reason
    assert authorisation.inputs["value"] == "50.00"
    assert authorisation.unit_return is not None
    assert authorisation.unit_return.rma
    again, made_again = exchange.request_exchange(session, second, by=tech)
    assert again.id == authorisation.id
    assert not made_again
    assert second.status == RepairStatus.EXCHANGED
    seen = services.history(session, viewer=tech, model_number="KDL-55W800C", serial="4012345")
    assert [r.reference for r in seen.repairs] == [second.reference, first.reference]
