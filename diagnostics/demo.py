"""Demo trees: TV blink codes on two chassis, no sound, a camera lens error, a receiver in
PROTECT, headphones that will not pair; they name demo catalogue parts, some superseded."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from diagnostics import services
from diagnostics.models import TreeRevision

FOLDER = Path(__file__).parent / "demo_trees"


def load(session: Session, *, by: str = "demo") -> list[str]:
    """Import and publish the demo trees that are not there yet; returns their ids."""
    present = set(session.scalars(select(TreeRevision.tree_id)))
    loaded = []
    for path in sorted(FOLDER.glob("*.yaml")):
        tree = services.read(path.read_text(encoding="utf-8"), name=f"{path.name}: ")
        if tree.id in present:
            continue
        services.import_tree(session, path.read_text(encoding="utf-8"), by=by, publish=True)
        loaded.append(tree.id)
    return loaded
