"""Search pages: results with facets, suggestions as you type, and the synonym list."""

from flask import Blueprint

bp = Blueprint("search", __name__, url_prefix="/search")

from app.search import routes  # noqa: F401  (registers the views on bp)
