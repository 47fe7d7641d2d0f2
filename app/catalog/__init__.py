"""The catalogue's pages: lookup, part and model pages, releases and their diffs, errata."""

from flask import Blueprint

bp = Blueprint("catalog", __name__, url_prefix="/catalog")

from app.catalog import routes  # noqa: F401  (registers the views on bp)
