"""The menu: each role sees the pages its access rules let it open, and no others."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from flask import current_app, request, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

from app.access import access_of
from app.db import get_session
from app.notices import services as notices
from app.rendering import Kept, csrf_slot, with_csrf
from app.roles import Role


@dataclass(frozen=True)
class MenuItem:
    label: str
    endpoint: str

    @property
    def url(self) -> str:
        return url_for(self.endpoint)

    @property
    def is_current(self) -> bool:
        return request.endpoint == self.endpoint

    def open_to(self, role: Role) -> bool:
        # Read from the view's own declaration, so the menu cannot disagree with the rule.
        rule = access_of(self.endpoint)
        return rule is not None and (rule.public or rule.roles is None or role in rule.roles)


MENU = (
    MenuItem("Home", "home.index"),
    MenuItem("Repairs", "repairs.index"),
    MenuItem("Diagnose", "diagnose.index"),
    MenuItem("Catalogue", "catalog.index"),
    MenuItem("Cart", "orders.cart"),
    MenuItem("Orders", "orders.history"),
    MenuItem("Claims", "warranty.index"),
    MenuItem("Escalate", "escalations.new"),
    MenuItem("Notices", "notices.index"),
    MenuItem("Queue", "escalations.queues"),
    MenuItem("Releases", "catalog.releases"),
    MenuItem("Errata", "catalog.errata_queue"),
    MenuItem("Trees", "authoring.index"),
    MenuItem("Synonyms", "search.synonym_list"),
    MenuItem("Exchanges", "repair_admin.queue"),
    MenuItem("Exchange rules", "repair_admin.rules"),
    MenuItem("Labour rates", "warranty.rates"),
    MenuItem("Users", "admin.users"),
    MenuItem("Service centres", "admin.centres"),
    MenuItem("Undelivered mail", "admin.undelivered_mail"),
)


def menu_for(role: Role) -> list[MenuItem]:
    return [item for item in MENU if item.open_to(role)]


@dataclass(frozen=True)
class MenuLink:
    """A menu item with its address worked out."""

    label: str
    endpoint: str
    url: str

    @property
    def is_current(self) -> bool:
        return request.endpoint == self.endpoint


def _links(role: Role) -> tuple[MenuLink, ...]:
    """The role's menu, worked out once per process: what a role may open is declared on the
    views, and an address without arguments is the same for every request under one root."""
    menus: dict[tuple[Role, str], tuple[MenuLink, ...]]
    menus = current_app.extensions.setdefault("menus", {})
    key = (role, request.script_root)
    found = menus.get(key)
    if found is None:
        found = menus[key] = tuple(
            MenuLink(item.label, item.endpoint, item.url) for item in menu_for(role)
        )
    return found


def _notices_waiting() -> int:
    """How many notices wait for the signed-in person's acknowledgement (0 when the database
    cannot say: an error page still renders its menu)."""
    try:
        return notices.count_unacknowledged(get_session(), current_user.id)
    except SQLAlchemyError:
        return 0


#: Headers kept per process: people × pages they open, bounded.
TOPBARS_KEPT = 4000


def _topbar(menu: Sequence[MenuLink], waiting: int) -> Markup:
    """The signed-in person's header (search, menu, account), rendered once per process for
    what it shows: the role's menu and its count, the page, the person's name and centre."""
    user = current_user._get_current_object()
    centre = user.centre.name if user.centre is not None else None
    key = (user.role, waiting, request.endpoint, user.name, centre, request.script_root)
    kept: Kept[Markup] | None = current_app.extensions.get("topbars")
    if kept is None:
        kept = current_app.extensions["topbars"] = Kept(TOPBARS_KEPT)
    found = kept.get(key)
    if found is None:
        template = current_app.jinja_env.get_template("_topbar.html")
        found = Markup(  # nosec B704 (rendered by an autoescaping template)
            template.render(
                menu=menu,
                name=user.name,
                role_label=user.role.label,
                centre=centre,
                csrf_token=csrf_slot,
            )
        )
        kept.put(key, found)
    return with_csrf(found)


def context() -> dict[str, Any]:
    # Mail rendered by a command has no request and no user.
    if getattr(current_user, "is_authenticated", False):
        menu: Sequence[MenuLink] = _links(current_user.role)
        waiting = _notices_waiting()
        if waiting:
            menu = [
                replace(item, label=f"Notices ({waiting})")
                if item.endpoint == "notices.index"
                else item
                for item in menu
            ]
        return {"menu": menu, "topbar": partial(_topbar, menu, waiting)}
    return {"menu": []}
