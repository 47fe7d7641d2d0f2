"""Tables owned by the parts catalogue.

Every release is kept. Rather than copying the catalogue per release, each row version is valid
from the release that introduced it (``valid_from``) until the release that changed or dropped it
(``valid_to``, exclusive; ``NULL`` while current). "As of release R" is then
``valid_from <= R < coalesce(valid_to, ∞)``, and an import that changes 1% writes about 1%.
Release ids increase with every import, so they order releases.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    Date,
    Double,
    Index,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    and_,
    false,
    or_,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from parts_catalog.sqltypes import UTCDateTime

# Shared by every package's MetaData so that Alembic names constraints identically everywhere.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

NUMBER = String(40)

#: A release's kind: a full snapshot delists what it leaves out; a delta changes only the rows
#: it names (DESIGN.md "Release files").
SNAPSHOT, DELTA = "snapshot", "delta"
RELEASE_KINDS = (SNAPSHOT, DELTA)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Release(Base):
    __tablename__ = "catalog_releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(64), unique=True)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    imported_by: Mapped[str | None] = mapped_column(String(254))
    source: Mapped[str | None] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(8), default=SNAPSHOT, server_default=SNAPSHOT)
    #: Row counts and what changed against the previous release, for the release list.
    summary: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    #: Every number's resolution as of this release is kept in ``catalog_resolution_versions``
    #: (computed at import). Releases imported before that was kept are resolved by walking.
    precomputed: Mapped[bool] = mapped_column(default=False, server_default=false())

    def __repr__(self) -> str:
        return f"<Release {self.id} {self.label!r}>"


class _Versioned:
    valid_from: Mapped[int] = mapped_column(index=True)
    valid_to: Mapped[int | None]
    #: Digest of the release-file row this version came from (see ``release_files.read_rows``):
    #: a later release repeating the row exactly is recognised without parsing it.
    row_digest: Mapped[int | None] = mapped_column(BigInteger)

    @classmethod
    def as_of(cls, release_id: int) -> ColumnElement[bool]:
        return and_(
            cls.valid_from <= release_id,
            or_(cls.valid_to.is_(None), cls.valid_to > release_id),
        )


def _current_index(table: str) -> Index:
    """(valid_to, row_digest): the current versions' digests straight from the index, a current
    version by its digest, and (valid_to = R) what a release closed."""
    return Index(f"ix_{table}_valid_to_digest", "valid_to", "row_digest")


class PartVersion(_Versioned, Base):
    __tablename__ = "catalog_part_versions"
    __table_args__ = (
        _current_index("catalog_part_versions"),
        Index("ix_catalog_part_versions_norm_from", "number_norm", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number_norm: Mapped[str] = mapped_column(NUMBER)
    number: Mapped[str] = mapped_column(NUMBER)
    description: Mapped[str] = mapped_column(String(255))
    category: Mapped[str | None] = mapped_column(String(80))
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    safety_critical: Mapped[bool] = mapped_column(default=False)

    def __repr__(self) -> str:
        return f"<PartVersion {self.number!r} {self.valid_from}-{self.valid_to}>"


class ModelVersion(_Versioned, Base):
    __tablename__ = "catalog_model_versions"
    __table_args__ = (
        _current_index("catalog_model_versions"),
        Index("ix_catalog_model_versions_norm_from", "number_norm", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number_norm: Mapped[str] = mapped_column(NUMBER)
    number: Mapped[str] = mapped_column(NUMBER)
    name: Mapped[str | None] = mapped_column(String(255))
    product_line: Mapped[str | None] = mapped_column(String(40))
    chassis: Mapped[str | None] = mapped_column(String(40))
    released_on: Mapped[date | None] = mapped_column(Date)
    support_ends_on: Mapped[date | None] = mapped_column(Date)
    exchange_value: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))


class FitmentVersion(_Versioned, Base):
    __tablename__ = "catalog_fitment_versions"
    __table_args__ = (
        _current_index("catalog_fitment_versions"),
        Index("ix_catalog_fitment_versions_part_from", "part_norm", "valid_from"),
        Index("ix_catalog_fitment_versions_model_from", "model_norm", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    model_norm: Mapped[str] = mapped_column(NUMBER)
    part_norm: Mapped[str] = mapped_column(NUMBER)
    ref_no: Mapped[str | None] = mapped_column(String(20))
    diagram: Mapped[str | None] = mapped_column(String(80))
    quantity: Mapped[int] = mapped_column(default=1)
    serial_from: Mapped[str | None] = mapped_column(String(40))
    serial_to: Mapped[str | None] = mapped_column(String(40))


class SupersessionVersion(_Versioned, Base):
    __tablename__ = "catalog_supersession_versions"
    __table_args__ = (
        _current_index("catalog_supersession_versions"),
        Index("ix_catalog_supersession_versions_old_from", "old_norm", "valid_from"),
        Index("ix_catalog_supersession_versions_new_from", "new_norm", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    old_norm: Mapped[str] = mapped_column(NUMBER)
    new_norm: Mapped[str] = mapped_column(NUMBER)
    quantity: Mapped[int] = mapped_column(default=1)
    interchangeability: Mapped[str] = mapped_column(String(16))
    effective_on: Mapped[date | None] = mapped_column(Date)
    serial_from: Mapped[str | None] = mapped_column(String(40))
    serial_to: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)


class ResolutionVersion(Base):
    """What a number resolves to (no serial given), kept from the import of one release until a
    later one changes it: the answer of ``services.resolve_number`` in one indexed read.

    Only numbers that have a successor have a row; a number without one resolves to itself, which
    its part version says. ``answer`` is the serialised resolution (``parts_catalog.resolutions``).
    """

    __tablename__ = "catalog_resolution_versions"

    number_norm: Mapped[str] = mapped_column(NUMBER, primary_key=True)
    valid_from: Mapped[int] = mapped_column(primary_key=True)
    valid_to: Mapped[int | None]
    answer: Mapped[str] = mapped_column(Text)

    @classmethod
    def as_of(cls, release_id: int) -> ColumnElement[bool]:
        return and_(
            cls.valid_from <= release_id,
            or_(cls.valid_to.is_(None), cls.valid_to > release_id),
        )


class DrawingFile(Base):
    """A drawing of an exploded view, sanitised (``parts_catalog.drawings``), stored once per
    distinct content: a release that repeats a drawing adds nothing, and every node of the
    portal serves it from the database, with no shared disk. Never changed once stored."""

    __tablename__ = "catalog_drawing_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(32))
    #: The drawing's extent in its own units (SVG viewBox, PNG pixels): hotspots lie inside.
    box_x: Mapped[float] = mapped_column(Double)
    box_y: Mapped[float] = mapped_column(Double)
    box_width: Mapped[float] = mapped_column(Double)
    box_height: Mapped[float] = mapped_column(Double)
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DiagramVersion(_Versioned, Base):
    """An exploded view of one model, or of every model of a chassis (``diagrams.csv``)."""

    __tablename__ = "catalog_diagram_versions"
    __table_args__ = (
        _current_index("catalog_diagram_versions"),
        Index("ix_catalog_diagram_versions_key_from", "diagram_key", "valid_from"),
        Index("ix_catalog_diagram_versions_model_from", "model_norm", "valid_from"),
        Index("ix_catalog_diagram_versions_chassis_from", "chassis", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``diagram_id`` of the release files.
    diagram_key: Mapped[str] = mapped_column(String(80))
    model_norm: Mapped[str | None] = mapped_column(NUMBER)
    chassis: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    #: The drawing's file name in the release, written back by an export.
    file_name: Mapped[str] = mapped_column(String(120))
    drawing_sha256: Mapped[str] = mapped_column(String(64))


class HotspotVersion(_Versioned, Base):
    """A reference number's place on a diagram (``hotspots.csv``): a box in the drawing's
    units, or an element of the SVG by its id."""

    __tablename__ = "catalog_hotspot_versions"
    __table_args__ = (
        _current_index("catalog_hotspot_versions"),
        Index("ix_catalog_hotspot_versions_key_from", "diagram_key", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    diagram_key: Mapped[str] = mapped_column(String(80))
    ref_no: Mapped[str] = mapped_column(String(20))
    x: Mapped[float | None] = mapped_column(Double)
    y: Mapped[float | None] = mapped_column(Double)
    w: Mapped[float | None] = mapped_column(Double)
    h: Mapped[float | None] = mapped_column(Double)
    element_id: Mapped[str | None] = mapped_column(String(120))


class StockLevel(Base):
    """Stock on hand, by part. Not versioned: it changes with every order, not with releases."""

    __tablename__ = "catalog_stock_levels"

    number_norm: Mapped[str] = mapped_column(NUMBER, primary_key=True)
    quantity: Mapped[int] = mapped_column(default=0)


class Erratum(Base):
    """A report that the catalogue is wrong (e.g. a part listed for a model it does not fit).

    Wrong fitment data gets a part bought that fails; these reports are the engineers' queue.
    Parts and models are named by number, as the reporter saw them, not by a version row.
    """

    __tablename__ = "catalog_errata"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    part_number: Mapped[str] = mapped_column(NUMBER)
    model_number: Mapped[str | None] = mapped_column(NUMBER)
    ref_no: Mapped[str | None] = mapped_column(String(20))
    release_label: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    reported_by: Mapped[str] = mapped_column(String(254))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    resolved_by: Mapped[str | None] = mapped_column(String(254))
    resolution: Mapped[str | None] = mapped_column(Text)


class SearchChange(Base):
    """A document whose search index entry changed: appended in the transaction that changed
    it, never updated afterwards (but for the pruning mark). Every node's index follows the
    log, remembering the last id it applied; rows are pruned by age (``search_queue``)."""

    __tablename__ = "search_changes"
    __table_args__ = (
        Index("ix_search_changes_index_name_id", "index_name", "id"),
        # Ids are never reused, even after the newest rows were deleted by hand.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    index_name: Mapped[str] = mapped_column(String(20))
    doc_id: Mapped[str] = mapped_column(String(80))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # Set on the oldest row kept by a pruning: rows with lower ids may have been deleted.
    pruned_before: Mapped[bool] = mapped_column(default=False, server_default=false())


class SearchSynonym(Base):
    """Technicians' words for the catalogue's: "power supply" means POWER BOARD. Engineers edit
    the list; queries read it, so a change works at once, without reindexing."""

    __tablename__ = "search_synonyms"
    __table_args__ = (UniqueConstraint("words", "means"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    words: Mapped[str] = mapped_column(String(80))
    means: Mapped[str] = mapped_column(String(120))
    updated_by: Mapped[str | None] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
