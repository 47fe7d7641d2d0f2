"""Issue 17: a unit's warranty is shown on the walk and on the part page opened for that unit."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.models import utcnow
from app.repairs import services as repairs
from app.repairs.settings import RepairSettings
from app.roles import Role
from app.warranty.models import WarrantyTerm
from app.warranty.proofs import attach_proof
from diagnostics import services as diagnostics
from parts_catalog.importer import import_release
from tests.conftest import AuthActions
from tests.factories import make_user
from tests.parts_catalog.releases import base_release

TREE = (
    "id: psu\ntitle: No power\nproduct_line: TV\nmodels: ['KDL-*']\nstart: fix\n"
    "nodes:\n  fix: {kind: fix, text: Replace the power board, "
    "parts: [{part: '1-474-594-11', qty: 1}], labour_minutes: 30}\n"
)


def test_the_walk_and_the_part_page_say_whether_the_unit_is_in_warranty(
    client: FlaskClient, auth: AuthActions, session: Session, tmp_path: Path
) -> None:
    import_release(session, path=base_release(tmp_path / "r"), label="r")
    session.add(
        WarrantyTerm(product_line="TV", parts_months=24, labour_months=12, updated_at=utcnow())
    )
    diagnostics.import_tree(session, TREE, publish=True, by="e@example.com")
    tech = make_user(session, role=Role.TECHNICIAN)
    bought = utcnow().date() - timedelta(days=30)
    repair, _ = repairs.open_repair(
        session,
        by=tech,
        asked=repairs.NewRepair("KDL-55W800C", "4012345", "No power", purchase_on=bought),
        settings=RepairSettings(),
    )
    walk = repairs.start_walk(session, repair, tree_id="psu", by=tech)
    auth.login(user=tech)

    unknown = client.get(f"/diagnose/sessions/{walk.id}").get_data(as_text=True)
    assert "Warranty of KDL-55W800C serial 4012345" in unknown
    assert "Unknown: proof of purchase needed" in unknown

    attach_proof(session, repair, by=tech, content=b"%PDF-1.4\n", filename="r.pdf", limit=99)
    session.commit()
    walk_page = client.get(f"/diagnose/sessions/{walk.id}").get_data(as_text=True)
    until = (bought.replace(year=bought.year + 2) - timedelta(days=1)).strftime("%d %b %Y")
    assert f"In warranty until {until} (parts)" in walk_page
    assert "/catalog/parts/1-474-594-12?model=KDL-55W800C&amp;serial=4012345" in walk_page

    part_page = client.get(
        "/catalog/parts/1-474-594-12", query_string={"model": "KDL-55W800C", "serial": "4012345"}
    ).get_data(as_text=True)
    assert f"In warranty until {until} (parts)" in part_page
    plain = client.get("/catalog/parts/1-474-594-12").get_data(as_text=True)
    assert "Warranty of" not in plain
