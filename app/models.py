"""The declarative base for tables the web layer owns."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Enum, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates

from parts_catalog.models import NAMING_CONVENTION
from parts_catalog.sqltypes import UTCDateTime, utcnow

__all__ = ["Base", "UTCDateTime", "checked", "utcnow"]


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
