"""Service-centre ordering and returns."""

from flask import Blueprint

bp = Blueprint("orders", __name__, url_prefix="/orders")

from app.orders import routes  # noqa: F401  (registers the views on bp)
