"""The repair page offers first the trees that share the most words with the complaint."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from app.repairs import services
from app.repairs.settings import RepairSettings
from app.roles import Role
from diagnostics import services as diagnostics
from parts_catalog.importer import import_release
from tests.factories import make_user
from tests.parts_catalog.releases import base_release


def _tree(slug: str, title: str, symptoms: list[str]) -> str:
    return (
        f"id: {slug}\ntitle: {title}\nproduct_line: TV\nmodels: ['KDL-*']\n"
        f"symptoms: {symptoms}\nstart: fix\n"
        "nodes:\n  fix: {kind: fix, text: Replace the board, parts: [], labour_minutes: 10}\n"
    )


def test_the_trees_matching_the_complaint_come_first(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r"), label="r")
    for text in (
        _tree("audio", "No sound from the speakers", ["no sound", "mute"]),
        _tree("picture", "No picture, red light blinks", ["standby light blinking", "no picture"]),
        _tree("remote", "Remote does not work", ["remote"]),
    ):
        diagnostics.import_tree(session, text, publish=True, by="e@example.com")
    tech = make_user(session, role=Role.TECHNICIAN)
    repair, _ = services.open_repair(
        session,
        by=tech,
        asked=services.NewRepair("KDL-55W800C", "1", "No picture; the standby light blinks"),
        settings=RepairSettings(),
    )
    assert [r.tree_id for r in services.trees_for(session, repair)] == [
        "picture",
        "audio",
        "remote",
    ]
