"""The declarative base for tables the web layer owns."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Enum, MetaData
from sqlalchemy.orm import DeclarativeBase

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
