"""What the repairs tests stand on: a catalogue with exchange values, a published tree whose fix
costs 111.50 at the default labour rate, and plain factory functions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.auth.models import User
from app.models import utcnow
from app.repairs import services
from app.repairs.models import ExchangeRule, Repair
from app.repairs.settings import RepairSettings
from diagnostics import services as diagnostics
from diagnostics.models import DiagnosticSession
from parts_catalog.importer import import_release
from tests.parts_catalog.releases import BASE_PARTS, base_release, model, part

SETTINGS = RepairSettings(redo_days=90)
TV = "KDL-55W800C"
SMALL_TV = "KDL-32R400"
CAMERA = "DSC-RX100M3"
#: The power board (1-474-594-11, resolved to -12 at 89.00) plus 30 minutes at 45.00 an hour.
FIX_COST = Decimal("111.50")
MODELS = [
    model(TV, name="Bravia 55W800C", product_line="TV", chassis="GN2", exchange_value="400.00"),
    model(SMALL_TV, name="Bravia 32R400", product_line="TV", exchange_value="90.00"),
    model(CAMERA, name="Cyber-shot RX100 III", product_line="Camera"),
]
PARTS = [*BASE_PARTS, part("1-999-000-11", "SPEAKER", category="audio")]  # no price
FITMENTS = [
    {"model_number": m, "part_number": p, "quantity": "1"}
    for m in (TV, SMALL_TV)
    for p in ("1-474-594-11", "1-999-000-11")
]


def tree(tree_id: str, part_number: str, *, kind: str = "fix") -> str:
    """A published tree that starts at its terminal: a walk of it stands at the fix at once."""
    return (
        f"id: {tree_id}\ntitle: {tree_id} fix\nproduct_line: TV\nmodels: ['KDL-*']\nstart: end\n"
        f"nodes:\n  end: {{kind: {kind}, text: Replace {part_number}, "
        f"parts: [{{part: '{part_number}', qty: 1}}], labour_minutes: 30}}\n"
    )


def load_bench(session: Session, folder: Path) -> None:
    """The catalogue and the trees: ``psu`` (111.50), ``speaker`` (no price), ``swap``
    (the tree itself says exchange)."""
    import_release(
        session,
        path=base_release(folder, parts=PARTS, models=MODELS, fitments=FITMENTS),
        label="r1",
    )
    for text in (
        tree("psu", "1-474-594-11"),
        tree("speaker", "1-999-000-11"),
        tree("swap", "1-474-594-11", kind="exchange"),
    ):
        diagnostics.import_tree(session, text, publish=True, by="engineer@example.com")
    session.flush()


def open_repair(
    session: Session, by: User, serial: str = "4012345", *, model_number: str = TV, **more: Any
) -> Repair:
    asked = services.NewRepair(model_number, serial, more.pop("complaint", "No picture"), **more)
    repair, _new = services.open_repair(session, by=by, asked=asked, settings=SETTINGS)
    return repair


def ended_days_ago(session: Session, repair: Repair, by: User, days: int, status: str) -> None:
    """End a repair (repaired, returned unrepaired) as if it had happened ``days`` ago."""
    services.change_status(session, repair, to=status, seen=repair.status.value, by=by)
    repair.closed_at = utcnow() - timedelta(days=days)
    session.flush()


def rule(session: Session, **values: Any) -> ExchangeRule:
    found = ExchangeRule(updated_at=utcnow(), **values)
    session.add(found)
    session.flush()
    return found


def walk_to_fix(
    session: Session, repair: Repair, by: User, tree_id: str = "psu"
) -> DiagnosticSession:
    return services.start_walk(session, repair, tree_id=tree_id, by=by)
