"""The repairs API: open a repair, read it, a unit's history, request an exchange."""

from __future__ import annotations
