"""Escalation tests; the helpers below reach the settings the services are handed."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Flask

from app.escalations.settings import EscalationSettings


def escalation_settings(app: Flask) -> EscalationSettings:
    """The escalations' settings ``create_app`` built."""
    settings: EscalationSettings = app.extensions["benchside.settings"].escalations
    return settings


def change_escalation_settings(app: Flask, **changes: Any) -> EscalationSettings:
    """Settings are built once from the config: a test that wants other values replaces them
    (e.g. ``attachment_max_bytes=1024``)."""
    settings = app.extensions["benchside.settings"]
    changed: EscalationSettings = replace(settings.escalations, **changes)
    app.extensions["benchside.settings"] = replace(settings, escalations=changed)
    return changed
