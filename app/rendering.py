"""What engineers write, shown to technicians safely: Markdown rendered by markdown-it-py with
raw HTML off, then sanitised by nh3 (a maintained HTML sanitiser) to a short list of tags and
to links that are http(s) or mailto only."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import nh3
from flask import Flask
from markdown_it import MarkdownIt
from markupsafe import Markup

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


def init_app(app: Flask) -> None:
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["markdown"] = markdown
    app.jinja_env.filters["markdown_inline"] = markdown_inline
