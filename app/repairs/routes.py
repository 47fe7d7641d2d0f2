"""The repair pages: opening a repair, its page and timeline, a unit's history."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("repairs", __name__)
