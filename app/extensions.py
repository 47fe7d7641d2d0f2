"""Flask extensions, created unbound and initialised in ``create_app``."""

from __future__ import annotations

from flask import current_app
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from app.settings import Settings

login_manager = LoginManager()
csrf = CSRFProtect()


def current_settings() -> Settings:
    """The settings values ``create_app`` built, for views to hand to services."""
    settings: Settings = current_app.extensions["benchside.settings"]
    return settings
