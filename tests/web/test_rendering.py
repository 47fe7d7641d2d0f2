"""Engineers' Markdown reaches technicians as safe HTML."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from app.rendering import markdown, markdown_inline

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    '"><script>alert(1)</script>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    "![x](javascript:alert(1))",
    "<iframe src=javascript:alert(1)>",
    "<details open ontoggle=alert(1)>",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
]


class _Elements(HTMLParser):
    """Every element and attribute a browser would build from the HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_script_never_survives(payload: str) -> None:
    for render in (markdown, markdown_inline):
        parser = _Elements()
        parser.feed(str(render(f"Check the fuse {payload} then continue")))
        for tag, attrs in parser.found:
            assert tag in {"p", "a", "strong", "em", "code"}, tag
            assert not any(name.startswith("on") for name in attrs), attrs
            href = (attrs.get("href") or "").strip().lower()
            assert not href or href.startswith(("http:", "https:", "mailto:")), href


def test_formatting_an_engineer_means_is_kept() -> None:
    html = str(
        markdown(
            "Measure **12 V** at `CN6101`:\n\n- pin 1\n- pin 2\n\n[manual](https://example.com/m.pdf)"
        )
    )
    assert "<strong>12 V</strong>" in html
    assert "<code>CN6101</code>" in html
    assert "<li>pin 1</li>" in html
    assert 'href="https://example.com/m.pdf"' in html
    assert 'rel="noopener noreferrer nofollow"' in html
