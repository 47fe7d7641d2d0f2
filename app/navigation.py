"""The menu each role sees; what is listed here is also what the role may open."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request, url_for
from flask_login import current_user

from app.roles import Role


@dataclass(frozen=True)
class MenuItem:
    label: str
    endpoint: str
    roles: frozenset[Role] | None = None  # None: everyone signed in

    @property
    def url(self) -> str:
        return url_for(self.endpoint)

    @property
    def is_current(self) -> bool:
        return request.endpoint == self.endpoint


MENU = (
    MenuItem("Home", "home.index"),
    MenuItem("Catalogue", "catalog.index"),
    MenuItem("Releases", "catalog.releases"),
    MenuItem("Errata", "catalog.errata_queue", frozenset({Role.ENGINEER, Role.ADMIN})),
    MenuItem("Users", "admin.users", frozenset({Role.ADMIN, Role.CENTRE_MANAGER})),
    MenuItem("Service centres", "admin.centres", frozenset({Role.ADMIN})),
)


def menu_for(role: Role) -> list[MenuItem]:
    return [item for item in MENU if item.roles is None or role in item.roles]


def context() -> dict[str, Any]:
    if current_user.is_authenticated:
        return {"menu": menu_for(current_user.role)}
    return {"menu": []}
