"""What engineers write, shown to technicians safely: Markdown rendered by markdown-it-py with
raw HTML off, then sanitised by nh3 (a maintained HTML sanitiser) to a short list of tags and
to links that are http(s) or mailto only."""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

import nh3
from flask import Flask, current_app, request, url_for
from flask_wtf.csrf import generate_csrf
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "ul", "ol", "li", "a", "blockquote",
    "table", "thead", "tbody", "tr", "th", "td", "h3", "h4", "hr",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}}


def _clean(html: str) -> Markup:
    # nh3 leaves only the tags, attributes and URL schemes listed above.
    return Markup(  # nosec B704
        nh3.clean(
            html,
            tags=_TAGS,
            attributes=_ATTRIBUTES,
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer nofollow",
        )
    )


def markdown(text: str | None) -> Markup:
    """Block Markdown (paragraphs, lists, tables) as safe HTML."""
    return _clean(_markdown.render(text or ""))


def markdown_inline(text: str | None) -> Markup:
    """One line of Markdown (emphasis, code, links) as safe HTML, for headings and lists."""
    return _clean(_markdown.renderInline(text or ""))


def localtime(moment: datetime, zone: str) -> str:
    """A moment as people read it where the work is done: "Monday 30 November 2026, 09:30 CET"."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%A %d %B %Y, %H:%M %Z")


V = TypeVar("V")


class Kept(Generic[V]):
    """What a process keeps of what it rendered: a bounded map, least recently used out first;
    safe for a threaded worker. Its keys must hold everything the value was made from."""

    def __init__(self, size: int, weight: Callable[[V], int] | None = None) -> None:
        """``size``: how much it keeps, counted by ``weight`` (one a value when None)."""
        self._size = size
        self._weight = weight
        self._held = 0
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key: Hashable, value: V) -> None:
        weight = 1 if self._weight is None else self._weight(value)
        if weight > self._size:
            return  # it would push out everything else
        with self._lock:
            before = self._items.pop(key, None)
            if before is not None:
                self._held -= before[1]
            self._items[key] = (value, weight)
            self._held += weight
            while self._held > self._size:
                _key, (_value, dropped) = self._items.popitem(last=False)
                self._held -= dropped

    def __len__(self) -> int:
        return len(self._items)


#: Stands for the CSRF token in kept markup (render it with ``csrf_token=csrf_slot``); random
#: per process, so no text shown can contain it.
CSRF_SLOT = f"csrf-{secrets.token_hex(16)}"


def csrf_slot() -> str:
    return CSRF_SLOT


def with_csrf(kept: Markup) -> Markup:
    """Kept markup with this request's CSRF token in its slots."""
    if CSRF_SLOT not in kept:
        return kept
    return Markup(kept.replace(CSRF_SLOT, escape(generate_csrf())))  # nosec B704


def kept_url(endpoint: str, **values: Any) -> str:
    """``url_for`` for the layout's fixed addresses (the stylesheet, the scripts, home), worked
    out once per process: they differ only with the application's root, which a proxy may set
    per request."""
    urls: dict[tuple[str, str, tuple[tuple[str, Any], ...]], str]
    urls = current_app.extensions.setdefault("kept_urls", {})
    key = (request.script_root, endpoint, tuple(sorted(values.items())))
    found = urls.get(key)
    if found is None:
        found = urls[key] = url_for(endpoint, **values)
    return found


def init_app(app: Flask) -> None:
    app.jinja_env.globals["kept_url"] = kept_url
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["markdown"] = markdown
    app.jinja_env.filters["markdown_inline"] = markdown_inline
