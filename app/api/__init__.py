"""The JSON API under /api/v1: session cookie or ``Authorization: Bearer`` token."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from app.api import routes  # noqa: F401  (registers the views on bp)
