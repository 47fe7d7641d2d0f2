"""The drawings of exploded views: SVG sanitised to an allowlist, PNG checked and measured.

A drawing comes from a release file written outside the portal and is shown to every
technician, so an SVG is never passed on as it came: it is parsed (with defusedxml: no DTD, no
entities), rebuilt from an allowlist of elements and attributes, and serialised again. What
could run or fetch is dropped: scripts, ``foreignObject``, event handlers (``on…``), links and
references that leave the drawing (any ``href`` not starting with ``#``, ``url(...)`` to
elsewhere, ``<style>`` with ``@import``). The portal serves the result with a CSP that forbids
scripts too; the sanitising means a drawing is harmless also when opened on its own.

Hotspots are placed in the drawing's own units: an SVG's ``viewBox`` (or its plain
``width``/``height``), a PNG's pixels.
"""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET  # nosec B405  # only builds and serialises; parsing is defusedxml's
from dataclasses import dataclass
from functools import lru_cache

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

SVG, PNG = "image/svg+xml", "image/png"
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"

#: A technical drawing has thousands of elements, not hundreds of thousands.
MAX_ELEMENTS = 50_000
#: Serialising is recursive; no drawing nests groups this deep.
MAX_DEPTH = 64
#: PNG sides beyond this are not drawings for a tablet screen (and would take 500 MB unpacked).
MAX_PNG_SIDE = 16_384

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

ELEMENTS = frozenset(
    {
        "svg",
        "g",
        "defs",
        "title",
        "desc",
        "symbol",
        "use",
        "path",
        "rect",
        "circle",
        "ellipse",
        "line",
        "polyline",
        "polygon",
        "text",
        "tspan",
        "linearGradient",
        "radialGradient",
        "stop",
        "clipPath",
        "mask",
        "marker",
        "pattern",
        "style",
    }
)
#: Elements whose text is kept (elsewhere text between elements is only whitespace).
TEXT_ELEMENTS = frozenset({"text", "tspan", "title", "desc", "style"})

ATTRIBUTES = frozenset(
    {
        "id",
        "class",
        "style",
        "x",
        "y",
        "width",
        "height",
        "viewBox",
        "preserveAspectRatio",
        "version",
        "d",
        "points",
        "cx",
        "cy",
        "r",
        "rx",
        "ry",
        "x1",
        "y1",
        "x2",
        "y2",
        "dx",
        "dy",
        "fx",
        "fy",
        "transform",
        "fill",
        "fill-opacity",
        "fill-rule",
        "stroke",
        "stroke-width",
        "stroke-opacity",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-dasharray",
        "stroke-dashoffset",
        "stroke-miterlimit",
        "opacity",
        "color",
        "display",
        "visibility",
        "vector-effect",
        "clip-path",
        "clip-rule",
        "mask",
        "marker-start",
        "marker-mid",
        "marker-end",
        "markerWidth",
        "markerHeight",
        "markerUnits",
        "refX",
        "refY",
        "orient",
        "font-family",
        "font-size",
        "font-weight",
        "font-style",
        "text-anchor",
        "dominant-baseline",
        "letter-spacing",
        "text-decoration",
        "gradientUnits",
        "gradientTransform",
        "spreadMethod",
        "offset",
        "stop-color",
        "stop-opacity",
        "patternUnits",
        "patternContentUnits",
        "patternTransform",
        "clipPathUnits",
        "maskUnits",
        "maskContentUnits",
        "href",
        "type",
        "media",
    }
)

_URL = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.IGNORECASE | re.DOTALL)
_NUMBER = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(px)?\s*$")


class DrawingRefused(ValueError):
    """The file is not a drawing the portal takes; ``str(exc)`` says why, fit to show."""


@dataclass(frozen=True)
class Box:
    """The drawing's extent in its own units."""

    x: float
    y: float
    width: float
    height: float

    def holds(self, x: float, y: float, w: float, h: float) -> bool:
        # A hair of slack for coordinates written with fewer decimals than computed.
        eps = 1e-6 * max(self.width, self.height)
        return (
            x >= self.x - eps
            and y >= self.y - eps
            and x + w <= self.x + self.width + eps
            and y + h <= self.y + self.height + eps
        )

    def __str__(self) -> str:
        return " ".join(f"{v:g}" for v in (self.x, self.y, self.width, self.height))


@dataclass(frozen=True)
class Drawing:
    data: bytes
    media_type: str
    box: Box
    element_ids: frozenset[str]
    #: What sanitising took out, one entry each (``"<script>"``, ``"onload on <svg>"``...).
    removed: tuple[str, ...] = ()


def media_type_of(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(".svg"):
        return SVG
    if lower.endswith(".png"):
        return PNG
    return None


def read_drawing(name: str, data: bytes, *, max_bytes: int) -> Drawing:
    """The drawing in ``data`` (a file called ``name``), sanitised and measured.

    :raises DrawingRefused: for a file that is too big, not an SVG or PNG drawing, or without a
        size that hotspots can be placed in.
    """
    if len(data) > max_bytes:
        raise DrawingRefused(
            f"is more than {max_bytes:,} bytes, the most a drawing may be (DIAGRAM_MAX_BYTES)"
        )
    kind = media_type_of(name)
    if kind == PNG:
        return _read_png(data)
    if kind == SVG:
        return sanitise_svg(data)
    raise DrawingRefused("is neither an SVG nor a PNG drawing (.svg or .png)")


def _read_png(data: bytes) -> Drawing:
    # The IHDR chunk comes first: length, type, then width and height, 24 bytes into the file.
    if len(data) < 24 or not data.startswith(PNG_MAGIC) or data[12:16] != b"IHDR":
        raise DrawingRefused("is not a PNG image (its first bytes are not a PNG header)")
    width, height = struct.unpack(">II", data[16:24])
    if not (0 < width <= MAX_PNG_SIDE and 0 < height <= MAX_PNG_SIDE):
        raise DrawingRefused(
            f"is {width} × {height} pixels; a side must be 1 to {MAX_PNG_SIDE:,} pixels"
        )
    return Drawing(data, PNG, Box(0, 0, width, height), frozenset())


def _local(tag: str) -> tuple[str | None, str]:
    """(namespace, local name) of an ElementTree tag or attribute name."""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return None, tag


def _safe_reference(value: str) -> bool:
    return value.strip().startswith("#")


def _safe_css(text: str) -> bool:
    """CSS that can neither fetch nor run anything: no imports, no ``url()`` leaving the
    drawing, no escapes that could spell either in disguise, no old IE expressions."""
    lower = text.lower()
    if "\\" in text or "@import" in lower or "expression(" in lower or "javascript:" in lower:
        return False
    if "behavior" in lower or "-moz-binding" in lower:
        return False
    return all(_safe_reference(m.group(2)) for m in _URL.finditer(text)) and (
        lower.count("url(") == len(_URL.findall(text))
    )


def _size(root: ET.Element) -> Box:
    view_box = root.get("viewBox")
    if view_box is not None:
        try:
            values = [float(v) for v in view_box.replace(",", " ").split()]
        except ValueError:
            values = []
        if len(values) != 4 or values[2] <= 0 or values[3] <= 0:
            raise DrawingRefused(f"has a viewBox {view_box!r} that is not four numbers x y w h")
        if not all(v == v and abs(v) < 1e12 for v in values):  # NaN, infinities
            raise DrawingRefused(f"has a viewBox {view_box!r} out of range")
        return Box(*values)
    width, height = _NUMBER.match(root.get("width", "")), _NUMBER.match(root.get("height", ""))
    if width and height and float(width.group(1)) > 0 and float(height.group(1)) > 0:
        return Box(0, 0, float(width.group(1)), float(height.group(1)))
    raise DrawingRefused(
        "has neither a viewBox nor a width and height in plain numbers: hotspots are placed in "
        "the drawing's own units, so it needs one"
    )


def sanitise_svg(data: bytes) -> Drawing:
    """Rebuild an SVG from the allowlist; see the module's docstring.

    :raises DrawingRefused: for what is not well-formed SVG, or too large to be a drawing.
    """
    try:
        source = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise DrawingRefused(f"is refused: {exc.__class__.__name__} (no DTD or entities)") from None
    except ET.ParseError as exc:
        raise DrawingRefused(f"is not well-formed XML ({exc})") from None
    namespace, local = _local(source.tag)
    if local != "svg" or namespace not in (None, SVG_NS):
        raise DrawingRefused("is not an SVG drawing (its root element is not <svg>)")
    count = sum(1 for _ in source.iter())
    if count > MAX_ELEMENTS:
        raise DrawingRefused(f"has {count:,} elements; a drawing may have at most {MAX_ELEMENTS:,}")
    box = _size(source)
    removed: list[str] = []
    ids: set[str] = set()

    def copy(element: ET.Element, depth: int) -> ET.Element | None:
        namespace, local = _local(element.tag)
        if not isinstance(element.tag, str) or namespace not in (None, SVG_NS):
            removed.append(f"<{local}>")
            return None
        if local not in ELEMENTS:
            removed.append(f"<{local}>")
            return None
        if depth > MAX_DEPTH:
            raise DrawingRefused(f"nests elements deeper than {MAX_DEPTH} levels")
        if local == "style" and not _safe_css(element.text or ""):
            removed.append("<style> with an import or an outside url()")
            return None
        out = ET.Element(f"{{{SVG_NS}}}{local}")
        for name, value in element.attrib.items():
            attr_ns, attr = _local(name)
            if attr_ns == XLINK_NS and attr == "href":
                if _safe_reference(value):
                    out.set(f"{{{XLINK_NS}}}href", value)
                else:
                    removed.append(f"xlink:href={value[:40]!r} on <{local}>")
                continue
            if attr_ns is not None or attr not in ATTRIBUTES:
                removed.append(f"{attr} on <{local}>")
                continue
            if attr == "href" and not _safe_reference(value):
                removed.append(f"href={value[:40]!r} on <{local}>")
                continue
            if attr == "style" and not _safe_css(value):
                removed.append(f"style={value[:40]!r} on <{local}>")
                continue
            if "url(" in value.lower() and not _safe_css(value):
                removed.append(f"{attr}={value[:40]!r} on <{local}>")
                continue
            out.set(attr, value)
            if attr == "id":
                ids.add(value)
        if local in TEXT_ELEMENTS:
            out.text = element.text
        for child in element:
            kept = copy(child, depth + 1)
            if kept is not None:
                if local in TEXT_ELEMENTS:
                    kept.tail = child.tail
                out.append(kept)
        return out

    root = copy(source, 0)
    assert root is not None  # the root is an <svg>, which is allowed
    if root.get("viewBox") is None:
        # An <img> scales a drawing to its box only when it has a viewBox.
        root.set("viewBox", str(box))
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    clean = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return Drawing(clean, SVG, box, frozenset(ids), tuple(removed))


def element_ids(svg: bytes) -> frozenset[str]:
    """The ids of a sanitised SVG's elements."""
    root = fromstring(svg, forbid_dtd=True)
    return frozenset(i for e in root.iter() if (i := e.get("id")) is not None)


#: What of an element is kept when it is copied as a hotspot's outline: its geometry only.
_SHAPES = frozenset(
    {"g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text", "tspan"}
)
_GEOMETRY = frozenset(
    {
        "x",
        "y",
        "width",
        "height",
        "d",
        "points",
        "cx",
        "cy",
        "r",
        "rx",
        "ry",
        "x1",
        "y1",
        "x2",
        "y2",
        "dx",
        "dy",
        "transform",
        "font-size",
        "font-family",
        "text-anchor",
    }
)


@lru_cache(maxsize=512)
def element_outline(svg: bytes, element_id: str) -> str | None:
    """Markup of the element ``element_id`` of a sanitised SVG, geometry only, inside groups
    carrying its ancestors' transforms: a hotspot's outline, to lay over the drawing.

    ``svg`` must be ``sanitise_svg``'s output. Ids, classes, styles and paint are dropped (the
    page styles the outline; an id would repeat the drawing's). ``None`` when there is no such
    element. Cached: drawings are stored by their hash and never change.
    """
    root = fromstring(svg, forbid_dtd=True)
    parents = {child: parent for parent in root.iter() for child in parent}
    target = next((e for e in root.iter() if e.get("id") == element_id), None)
    if target is None or _local(target.tag)[1] not in _SHAPES:
        return None

    def strip(element: ET.Element) -> ET.Element | None:
        local = _local(element.tag)[1]
        if local not in _SHAPES:
            return None
        out = ET.Element(f"{{{SVG_NS}}}{local}")
        for name in _GEOMETRY:
            if (value := element.get(name)) is not None:
                out.set(name, value)
        if local in ("text", "tspan"):
            out.text = element.text
        for child in element:
            kept = strip(child)
            if kept is not None:
                out.append(kept)
        return out

    shape = strip(target)
    assert shape is not None
    node = target
    while (parent := parents.get(node)) is not None and parent is not root:
        if (transform := parent.get("transform")) is not None:
            group = ET.Element(f"{{{SVG_NS}}}g", {"transform": transform})
            group.append(shape)
            shape = group
        node = parent
    ET.register_namespace("", SVG_NS)
    return ET.tostring(shape, encoding="unicode")
