"""The declarative base for tables the web layer owns."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, ClassVar, TypeVar, cast

from sqlalchemy import Column, Enum, MetaData, String, Table, inspect
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    attributes,
    configure_mappers,
    make_transient_to_detached,
    mapped_column,
    validates,
)

from parts_catalog.models import NAMING_CONVENTION
from parts_catalog.sqltypes import UTCDateTime, utcnow

__all__ = ["Base", "UTCDateTime", "attach_row", "checked", "row_columns", "utcnow"]

Entity = TypeVar("Entity", bound="Base")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


def checked(values: type[enum.StrEnum], name: str, length: int) -> Enum:
    """A column of ``values``, stored as the value and checked by the database (a CHECK
    constraint named ``ck_<table>_<name>``), as the users' roles are: adding a value is an
    ordinary migration on every backend."""
    return Enum(
        values,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        validate_strings=True,
        values_callable=lambda members: [member.value for member in members],
    )


def scope_key(product_line: str | None, model_pattern: str | None) -> str:
    """One spelling of what a programme rule or a term is for: a model glob as written (already
    upper-cased), else a product line in any case (the rules compare lines case-blind)."""
    if model_pattern:
        return f"model:{model_pattern}"
    return f"line:{(product_line or '').lower()}"


class LineOrModelScope:
    """A mixin for what applies to a product line or to models matching a glob (an exchange
    rule, a warranty term): ``scope`` follows the two, and is unique, so that two keepers adding
    the same scope at once cannot both pass a look-up and make two."""

    product_line: Mapped[str | None] = mapped_column(String(40))
    model_pattern: Mapped[str | None] = mapped_column(String(80))
    scope: Mapped[str] = mapped_column(String(130), unique=True)

    @validates("product_line", "model_pattern")
    def _follow_scope(self, key: str, value: str | None) -> str | None:
        line = value if key == "product_line" else self.product_line
        pattern = value if key == "model_pattern" else self.model_pattern
        self.scope = scope_key(line, pattern)
        return value


def row_columns(entity: type[Base]) -> tuple[Column[Any], ...]:
    """Every column of ``entity``'s table, in the order :func:`attach_row` takes their values."""
    return _layout(entity)[0]


@cache
def _layout(entity: type[Base]) -> tuple[tuple[Column[Any], ...], tuple[str, ...], tuple[int, ...]]:
    """``entity``'s columns, their attributes' names, and where its primary key lies among them.

    Configures the mappers first: a worker's first request may attach a row before any ORM
    query has done so, and an unconfigured mapper has no attribute machinery to make the key.
    """
    configure_mappers()
    mapper = inspect(entity)
    table: Table = entity.__table__  # type: ignore[assignment]
    columns = tuple(table.c)
    names = tuple(mapper.get_property_by_column(column).key for column in columns)
    primary = tuple(columns.index(column) for column in mapper.primary_key)
    return columns, names, primary


def attach_row(session: Session, entity: type[Entity], values: Sequence[Any]) -> Entity:
    """The persistent ``entity`` whose columns a Core statement read as ``values`` (in
    :func:`row_columns` order), in ``session`` as if the ORM had loaded it: clean, its
    relationships loaded when first used; the one already in the session when there is one.

    For the statements every request runs (who signs it): the ORM's own loading of one row cost
    more than reading the row, each time. No load event fires for an object made so.
    """
    _columns, names, primary = _layout(entity)
    mapper = inspect(entity)
    identity = mapper.identity_key_from_primary_key(tuple(values[i] for i in primary))
    present = session.identity_map.get(identity)
    if present is not None:
        return cast(Entity, present)
    made = cast(Entity, mapper.class_manager.new_instance())
    # Straight into the instance's dict: make_transient_to_detached then resets every
    # attribute's history "as though the instance were freshly loaded" (its documentation),
    # which setting each value as committed, one by one, did a second time.
    attributes.instance_dict(made).update(zip(names, values, strict=True))
    make_transient_to_detached(made)
    session.add(made)
    return made
