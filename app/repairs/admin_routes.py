"""The exchange programme's pages for approvers and keepers: the queue of requests, rules,
returned units, and the symptom codes engineers maintain."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("repair_admin", __name__)
