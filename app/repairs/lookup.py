"""Finding a unit in what a person typed into the search box ("kdl-55w800c 4012345")."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from diagnostics import services as diagnostics
from parts_catalog.diagrams import ref_number_query
from parts_catalog.models import PartVersion
from parts_catalog.numbers import normalise

#: A query longer than this is words, not a unit.
MAX_TOKENS = 3


@dataclass(frozen=True)
class Unit:
    model_number: str  # as the catalogue spells it
    serial: str


def unit_in(session: Session, text: str) -> Unit | None:
    """The unit a query names: a known model number and one other token with a digit in it that
    is not a part number ("kdl-55w800c 4012345", "4012345 KDL-55W800C"); ``None`` otherwise."""
    if ref_number_query(text) is not None:
        return None  # "kdl-55w800c ref 251", "#251": a place on the exploded view
    tokens = text.split()
    if len(tokens) < 2 or len(tokens) > MAX_TOKENS:
        return None
    for i, token in enumerate(tokens):
        facts = diagnostics.model_facts(session, token)
        if facts is None:
            continue
        rest = [t for j, t in enumerate(tokens) if j != i and t.lower() not in ("serial", "sn")]
        if len(rest) != 1:
            return None
        serial = rest[0].strip(",;:#")
        norm = normalise(serial)
        if not norm or len(serial) > 40 or not any(c.isdigit() for c in norm):
            return None
        part = session.scalar(
            select(PartVersion.id).where(PartVersion.number_norm == norm).limit(1)
        )
        if part is not None:
            return None  # a part number with a model: the catalogue search answers that
        return Unit(facts.number, serial)
    return None
