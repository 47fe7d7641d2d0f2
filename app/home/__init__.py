"""The start page and the health check."""

from flask import Blueprint

bp = Blueprint("home", __name__)

from app.home import routes  # noqa: F401  (registers the views on bp)
