"""The settings a release import runs under, from the app's configuration."""

from __future__ import annotations

from flask import current_app

from parts_catalog.release_files import ArchiveLimits


def archive_limits() -> ArchiveLimits:
    config = current_app.config
    return ArchiveLimits(
        max_bytes=int(config["RELEASE_MAX_BYTES"]), max_ratio=int(config["RELEASE_MAX_RATIO"])
    )


def diagram_max_bytes() -> int:
    return int(current_app.config["DIAGRAM_MAX_BYTES"])


def max_drop_share() -> float:
    return float(current_app.config["RELEASE_MAX_DROP_SHARE"])
