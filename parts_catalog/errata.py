"""The catalogue's errata queue: reports that the catalogue is wrong, for engineers to settle."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from parts_catalog.errors import CatalogError
from parts_catalog.models import Erratum
from parts_catalog.sqltypes import utcnow

WRONG_FITMENT = "wrong_fitment"
KINDS = {WRONG_FITMENT: "Part does not fit this model"}


class UnknownErratum(CatalogError):
    def __init__(self, erratum_id: int) -> None:
        super().__init__(f"There is no erratum {erratum_id}.")


def report_wrong_fitment(
    session: Session,
    *,
    part_number: str,
    model_number: str,
    ref_no: str | None,
    release_label: str | None,
    note: str | None,
    reported_by: str,
) -> Erratum:
    """Record that ``part_number`` is listed for ``model_number`` but does not fit it."""
    erratum = Erratum(
        kind=WRONG_FITMENT,
        part_number=part_number,
        model_number=model_number,
        ref_no=ref_no or None,
        release_label=release_label,
        note=(note or "").strip() or None,
        reported_by=reported_by,
        reported_at=utcnow(),
    )
    session.add(erratum)
    session.flush()
    return erratum


def open_errata(session: Session) -> list[Erratum]:
    return list(
        session.scalars(
            select(Erratum).where(Erratum.resolved_at.is_(None)).order_by(Erratum.reported_at)
        )
    )


def resolve_erratum(session: Session, erratum_id: int, *, by: str, resolution: str) -> Erratum:
    """:raises UnknownErratum: when there is no such report."""
    erratum = session.get(Erratum, erratum_id)
    if erratum is None:
        raise UnknownErratum(erratum_id)
    erratum.resolved_at = utcnow()
    erratum.resolved_by = by
    erratum.resolution = resolution.strip() or "Resolved"
    session.flush()
    return erratum
