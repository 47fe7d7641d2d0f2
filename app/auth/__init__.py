"""Signing in and out, passwords, invitations."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from app.auth import routes  # noqa: F401  (registers the views on bp)
