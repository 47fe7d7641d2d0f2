"""The repairs' settings as the services receive them (built once in ``create_app``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RepairSettings:
    """:param redo_days: a repair of a unit within this many days of the end of its previous
    repair (one that was repaired) is a redo (``REDO_DAYS``)."""

    redo_days: int = 90

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RepairSettings:
        return cls(redo_days=int(config["REDO_DAYS"]))
