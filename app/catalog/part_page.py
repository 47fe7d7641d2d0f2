"""What the part page shows that the catalogue alone decides, kept per process.

A release's rows never change once it is committed: an import writes a new release and only
closes older rows at it (``valid_to``), which leaves every earlier "as of" answer as it was. So
what a page shows of the catalogue as of release R is fixed by R and by the newest release (the
history, the release picker and what the cart would order follow the newest). The key holds the
label asked for (labels are unique, releases never removed) and the newest release by id, label
and import time as the database stores them: an id alone could come back on SQLite after a
rolled-back import. One small statement reads that stamp for each request, so an import changes
the key of every page at once, on every worker, without any message between processes.

Stock, notices, warranty and whatever depends on the person are not kept: the page reads them
for each request. The sections that show the catalogue alone are kept rendered; the fitment
table's report forms carry the person's CSRF token, put in for each request.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from flask import current_app, request
from markupsafe import Markup
from sqlalchemy.orm import Session

from app.catalog import exploded
from app.catalog.chain import ChainNode, columns
from app.orders import services as orders
from app.rendering import Kept, csrf_slot, with_csrf
from parts_catalog import services
from parts_catalog.errors import NoReleases, UnknownRelease
from parts_catalog.models import Release
from parts_catalog.numbers import normalise
from parts_catalog.search import replacement_of

#: What a process keeps of part pages, in characters of their rendered sections (the answers
#: they were rendered from are of like size): some 50 MB a worker. A page is 5 to 30 thousand
#: characters; a part fitted to hundreds of models, many times that.
KEPT = 25_000_000


@dataclass(frozen=True)
class Catalogued:
    """The part page's catalogue answers, stock left out (``detail.stock`` is None and every
    ordering item's stock 0 until :func:`with_stock` fills them)."""

    #: The release shown (the newest, or the one asked for).
    release: services.ReleaseStamp
    detail: services.PartDetail
    forward: list[list[ChainNode]]
    backward: list[list[ChainNode]]
    history: list[services.PartHistoryEntry]
    places: list[exploded.Place]
    #: What the cart would order for the number today (the newest release), as orders.check says.
    ordering: orders.Checked
    #: The sections of the page that show the catalogue alone, rendered.
    sections: Sections


@dataclass(frozen=True)
class Sections:
    head: Markup
    chain: Markup
    #: Fitments (whose report forms hold the CSRF slot), drawings and history.
    catalogue: Markup

    def for_request(self) -> Sections:
        return replace(self, catalogue=with_csrf(self.catalogue))


Pages = Kept[Catalogued]


def weight(page: Catalogued) -> int:
    sections = page.sections
    return len(sections.head) + len(sections.chain) + len(sections.catalogue)


def catalogued(
    session: Session,
    pages: Pages,
    number: str,
    *,
    newest: services.ReleaseStamp,
    as_of: str | None,
    serial: str | None,
) -> Catalogued:
    """The page's catalogue answers for ``number`` as of the release labelled ``as_of`` (the
    newest when None), from ``pages`` when this process has read them already.

    :raises UnknownRelease: when no release up to the newest has that label.
    """
    # Labels are unique and releases are never removed: with the newest release, the label
    # names one release for good. The sections' links start with the application's root,
    # which a proxy may set per request.
    key = (normalise(number), serial, as_of, newest, request.script_root)
    found = pages.get(key)
    if found is None:
        # Read within this request's transaction: should an import commit while it runs, what
        # is read may already be the new release's, but it is kept under the old newest release,
        # which no request started after the commit asks for.
        found = _read(session, number, as_of=as_of, serial=serial)
        pages.put(key, found)
    return found


def _shown(releases: list[Release], label: str | None) -> Release:
    """The release labelled ``label`` among ``releases`` (newest first), else the newest."""
    if not releases:
        raise NoReleases()
    if label is None:
        return releases[0]
    for release in releases:
        if release.label == label:
            return release
    raise UnknownRelease(label)


def _read(session: Session, number: str, *, as_of: str | None, serial: str | None) -> Catalogued:
    releases = services.list_releases(session)
    release = _shown(releases, as_of)
    detail = services.part_detail(session, number, release=release, serial=serial)
    [ordering] = orders.check(session, [orders.Asked(detail.part.number, 1, serial)])
    forward = columns(detail.part.number, detail.replaced_by)
    backward = columns(detail.part.number, detail.replaces, forward=False)
    history = services.part_history(session, detail.part.number, releases=releases)
    places = exploded.part_places(session, detail.fitments, release=release)
    shown = {
        "detail": detail,
        "part": detail.part,
        "replacement": replacement_of(detail.part.number, detail.resolution),
        "forward": forward,
        "backward": backward,
        "history": history,
        "places": places,
        "release": release,
        "releases": releases,
        "serial": serial,
        "csrf_token": csrf_slot,
    }
    sections = Sections(
        head=_render("catalog/_part_head.html", shown),
        chain=_render("catalog/_part_chain.html", shown),
        catalogue=_render("catalog/_part_catalogue.html", shown),
    )
    return Catalogued(
        services.ReleaseStamp(release.id, release.label, release.imported_at),
        detail,
        forward,
        backward,
        history,
        places,
        ordering,
        sections,
    )


def _render(name: str, context: dict[str, object]) -> Markup:
    # Not render_template: its context processors read the person and the menu, which a kept
    # section must not show.
    return Markup(current_app.jinja_env.get_template(name).render(context))  # nosec B704


def with_stock(session: Session, page: Catalogued) -> tuple[services.PartDetail, orders.Checked]:
    """The page's part and ordering with today's stock, read in one statement."""
    part = page.detail.part
    items = page.ordering.items
    norms = {part.number_norm, *(normalise(i.number) for i in items)}
    stock = services.stock_of(session, norms)
    detail = replace(page.detail, stock=stock.get(part.number_norm))
    ordering = replace(
        page.ordering,
        items=[i._replace(stock=stock.get(normalise(i.number), 0)) for i in items],
    )
    return detail, ordering
