"""A demo catalogue: two releases of TVs, cameras and audio products, written as release files.

Deterministic (a seeded generator), so every demo portal shows the same parts. It exercises what
the catalogue must handle: supersession chains, two-way and conditional replacements with serial
ranges, kits, merges, parts no longer available, look-alike numbers that are different parts,
and fitments with reference numbers on exploded views.
"""

from __future__ import annotations

import csv
import random
import struct
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr  # nosec B406  # escapes what the demo writes

from sqlalchemy import select
from sqlalchemy.orm import Session

from parts_catalog.importer import ImportReport, import_release
from parts_catalog.models import Release

FIRST, SECOND = "2026.05", "2026.11"


@dataclass(frozen=True)
class Family:
    models: list[tuple[str, str, str | None, tuple[int, ...]]]
    exchange: tuple[int, int]
    diagrams: tuple[str, ...]
    parts: list[tuple[str, str, float, float, bool]]


FAMILIES = {
    "TV": Family(
        models=[
            ("KDL-{size}W800C", "Bravia {size}W800C", "GN2", (43, 50, 55, 65)),
            ("KDL-{size}W650D", "Bravia {size}W650D", "WAX3F", (32, 40, 48)),
            ("KD-{size}XF9005", "Bravia {size}XF9005", "GN3", (49, 55, 65, 75)),
            ("XBR-{size}X900E", "Bravia {size}X900E", "GN2", (55, 65)),
        ],
        exchange=(450, 1400),
        diagrams=(
            "Exploded view 1: rear cover",
            "Exploded view 2: chassis",
            "Exploded view 3: LCD",
        ),
        parts=[
            ("POWER BOARD ({tag})", "board", 60, 140, True),
            ("MAIN BOARD ({tag})", "board", 90, 220, False),
            ("T-CON BOARD", "board", 40, 90, False),
            ("LED STRIP ({side})", "backlight", 12, 35, False),
            ("BACKLIGHT LED BAR {n}", "backlight", 15, 40, False),
            ("SPEAKER ({side})", "audio", 8, 25, False),
            ("IR RECEIVER BOARD", "board", 6, 18, False),
            ("WIRELESS LAN MODULE", "module", 14, 30, False),
            ("HDMI BOARD", "board", 20, 45, False),
            ("STAND ASSY", "cabinet", 25, 60, False),
            ("REAR COVER ASSY", "cabinet", 30, 80, False),
            ("FFC CABLE {n}P", "cable", 2, 9, False),
            ("HARNESS, POWER", "cable", 3, 10, True),
            ("REMOTE COMMANDER (RMF-TX{n}0)", "accessory", 12, 35, False),
            ("SCREW (M{n}X8)", "hardware", 0.2, 0.9, False),
            ("FUSE (T{n}A/250V)", "electrical", 0.5, 2, True),
        ],
    ),
    "Camera": Family(
        models=[
            ("DSC-RX100M{n}", "Cyber-shot RX100 {roman}", None, (3, 4, 5, 6)),
            ("ILCE-{n}M3", "Alpha {n} III", None, (6, 7)),
            ("HDR-CX{n}", "Handycam CX{n}", None, (405, 450, 625)),
        ],
        exchange=(250, 1700),
        diagrams=("Exploded view 1: cabinet", "Exploded view 2: lens block", "Mounted board"),
        parts=[
            ("LENS BLOCK ASSY ({tag})", "optical", 90, 260, False),
            ("CMOS SENSOR BOARD", "board", 120, 300, False),
            ("LCD PANEL {n}", "display", 40, 95, False),
            ("MAIN BOARD ({tag})", "board", 110, 240, False),
            ("FLASH UNIT", "module", 18, 45, True),
            ("SHUTTER UNIT", "mechanism", 35, 80, False),
            ("FLEXIBLE BOARD, {side}", "cable", 6, 20, False),
            ("DOOR, BATTERY", "cabinet", 2, 6, False),
            ("GRIP RUBBER", "cabinet", 3, 9, False),
            ("CABINET (FRONT) ASSY", "cabinet", 20, 55, False),
            ("BATTERY, LITHIUM ION (NP-BX{n})", "accessory", 30, 55, True),
            ("SCREW (M1.{n}X3)", "hardware", 0.2, 0.8, False),
        ],
    ),
    "Audio": Family(
        models=[
            ("STR-DH{n}", "AV receiver STR-DH{n}", None, (590, 790)),
            ("CMT-SBT{n}", "Micro hi-fi CMT-SBT{n}", None, (20, 100)),
            ("SRS-XB{n}", "Wireless speaker SRS-XB{n}", None, (23, 33, 43)),
            ("WH-1000XM{n}", "Headphones WH-1000XM{n}", None, (3, 4)),
        ],
        exchange=(60, 500),
        diagrams=(
            "Exploded view 1: cabinet",
            "Exploded view 2: main section",
            "Exploded view 3: mechanism",
        ),
        parts=[
            ("AMPLIFIER BOARD ({tag})", "board", 45, 120, False),
            ("POWER TRANSFORMER", "electrical", 25, 70, True),
            ("CD MECHANISM DECK", "mechanism", 30, 75, False),
            ("VOLUME KNOB", "cabinet", 2, 6, False),
            ("SPEAKER UNIT {n}CM", "audio", 9, 30, False),
            ("BLUETOOTH MODULE", "module", 12, 28, False),
            ("HEADBAND ASSY", "cabinet", 15, 40, False),
            ("EAR PAD ({side})", "cabinet", 8, 20, False),
            ("BATTERY PACK", "electrical", 18, 40, True),
            ("MAIN BOARD ({tag})", "board", 40, 110, False),
            ("AC CORD", "cable", 4, 12, True),
        ],
    ),
}
ROMAN = {3: "III", 4: "IV", 5: "V", 6: "VI"}


@dataclass
class Catalogue:
    parts: dict[str, dict[str, str]] = field(default_factory=dict)
    models: dict[str, dict[str, str]] = field(default_factory=dict)
    fitments: list[dict[str, str]] = field(default_factory=list)
    supersessions: list[dict[str, str]] = field(default_factory=list)
    #: Exploded views: rows of diagrams.csv and hotspots.csv, and the drawing files by name.
    diagrams: list[dict[str, str]] = field(default_factory=list)
    hotspots: list[dict[str, str]] = field(default_factory=list)
    drawings: dict[str, bytes] = field(default_factory=dict)


class _Numbers:
    """Part numbers in the formats of real service manuals, never repeating."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _fresh(self, make: Callable[[], str]) -> str:
        while True:
            number = make()
            if number not in self.used:
                self.used.add(number)
                return number

    def electrical(self) -> str:
        r = self.rng
        return self._fresh(lambda: f"1-{r.randint(400, 999)}-{r.randint(100, 999)}-11")

    def mechanical(self) -> str:
        r = self.rng
        return self._fresh(
            lambda: f"{r.choice('2345')}-{r.randint(100, 999)}-{r.randint(100, 999)}-01"
        )

    def board(self) -> str:
        r = self.rng
        return self._fresh(lambda: f"A-{r.randint(1000, 2999)}-{r.randint(100, 999)}-A")

    def assembly(self) -> str:
        r = self.rng
        return self._fresh(
            lambda: f"X-{r.randint(2000, 2999)}-{r.randint(100, 999)}-{r.randint(1, 9)}"
        )

    def for_category(self, category: str) -> str:
        if category == "board":
            return self.board()
        if category in ("cabinet", "hardware", "mechanism", "optical"):
            return self.assembly() if self.rng.random() < 0.3 else self.mechanical()
        return self.electrical()


def _next_suffix(number: str) -> str:
    """1-474-594-11 → 1-474-594-12: how a revised part is often numbered."""
    head, _, tail = number.rpartition("-")
    if tail.isdigit():
        return f"{head}-{int(tail) + 1:0{len(tail)}d}"
    return f"{head}-{chr(ord(tail[-1]) + 1)}" if tail else number + "-1"


def _price(rng: random.Random, low: float, high: float) -> str:
    return f"{rng.uniform(low, high):.2f}"


def build(seed: int = 20261127) -> tuple[Catalogue, Catalogue]:
    """The first and second release of the demo catalogue."""
    rng = random.Random(seed)  # nosec B311  # reproducible demo data, not a secret
    numbers = _Numbers(rng)
    cat = Catalogue()  # built up release by release; copied when the first is complete

    def add_part(
        number: str, description: str, category: str, low: float, high: float, safety: bool
    ) -> str:
        cat.parts[number] = {
            "part_number": number,
            "description": description,
            "category": category,
            "unit_price": _price(rng, low, high),
            "currency": "EUR",
            "status": "active",
            "stock_qty": str(rng.choice([0, 1, 2, 3, 5, 8, 12, 20, 35, 60])),
            "safety_critical": "yes" if safety else "no",
        }
        return number

    # The parts of the examples in DESIGN.md and the issues, so the demo can show them.
    add_part("1-474-594-11", "POWER BOARD (GL2)", "board", 84.5, 84.5, True)
    add_part("1-474-594-12", "POWER BOARD (GL2A)", "board", 89, 89, True)
    add_part("A-2072-533-A", "MAIN BOARD (BMT)", "board", 120, 120, False)
    add_part("4-234-704-01", "DOOR, BATTERY", "cabinet", 2.1, 2.1, False)
    add_part("4-234-704-11", "DOOR, BATTERY", "cabinet", 2.1, 2.1, False)

    for line, family in FAMILIES.items():
        for pattern, name, chassis, variants in family.models:
            shared: dict[str, str] = {}
            for variant in variants:
                model_number = pattern.format(size=variant, n=variant)
                low, high = family.exchange
                cat.models[model_number] = {
                    "model_number": model_number,
                    "name": name.format(size=variant, n=variant, roman=ROMAN.get(variant, "")),
                    "product_line": line,
                    "chassis": chassis or "",
                    "released_on": f"{rng.randint(2015, 2021)}-{rng.randint(1, 12):02d}-01",
                    "support_ends_on": f"{rng.randint(2026, 2031)}-12-31",
                    "exchange_value": f"{rng.randint(low, high)}.00",
                }
                ref = 0
                for diagram in family.diagrams:
                    ref = (ref // 100 + 1) * 100
                    for description, category, plow, phigh, safety in family.parts:
                        for _copy in range(rng.choice([2, 3, 3])):
                            ref += 1
                            text = description.format(
                                tag=rng.choice(["GL2", "BMT", "AP4", "SY3", "CK1"]),
                                side=rng.choice(["L", "R"]),
                                n=rng.randint(2, 9),
                            )
                            # Hardware and accessories are shared across a model family.
                            if category in ("hardware", "accessory", "cable") and text in shared:
                                number = shared[text]
                            else:
                                number = add_part(
                                    numbers.for_category(category),
                                    text,
                                    category,
                                    plow,
                                    phigh,
                                    safety,
                                )
                                shared[text] = number
                            cat.fitments.append(
                                {
                                    "model_number": model_number,
                                    "part_number": number,
                                    "ref_no": str(ref),
                                    "diagram": diagram,
                                    "quantity": str(rng.choice([1, 1, 1, 2, 4])),
                                    "serial_from": "",
                                    "serial_to": "",
                                }
                            )
    cat.fitments += [
        {
            "model_number": "KDL-55W800C",
            "part_number": "1-474-594-11",
            "ref_no": "251",
            "diagram": "Exploded view 2: chassis",
            "quantity": "1",
            "serial_from": "",
            "serial_to": "",
        },
        {
            "model_number": "KDL-55W800C",
            "part_number": "A-2072-533-A",
            "ref_no": "252",
            "diagram": "Exploded view 2: chassis",
            "quantity": "1",
            "serial_from": "",
            "serial_to": "",
        },
        {
            "model_number": "DSC-RX100M3",
            "part_number": "4-234-704-01",
            "ref_no": "12",
            "diagram": "Exploded view 1: cabinet",
            "quantity": "1",
            "serial_from": "",
            "serial_to": "",
        },
        {
            "model_number": "DSC-RX100M4",
            "part_number": "4-234-704-11",
            "ref_no": "12",
            "diagram": "Exploded view 1: cabinet",
            "quantity": "1",
            "serial_from": "",
            "serial_to": "",
        },
    ]
    pool = [
        n
        for n in cat.parts
        if n not in ("1-474-594-11", "1-474-594-12", "4-234-704-01", "4-234-704-11")
    ]
    rng.shuffle(pool)

    def successor(old: str, kind: str = "one_way", **extra: str) -> str:
        new = _next_suffix(old)
        if new in cat.parts or new in numbers.used:
            new = numbers.for_category(cat.parts[old]["category"])
        numbers.used.add(new)
        row = dict(cat.parts[old])
        row["part_number"] = new
        row["unit_price"] = f"{float(row['unit_price']) * 1.06:.2f}"
        cat.parts[new] = row
        cat.supersessions.append(_edge(old, new, kind, **extra))
        return new

    # Release 1's supersessions: simple one-way revisions and a few two-way ones.
    for old in pool[:40]:
        successor(old, effective_on="2025-09-01")
    for old in pool[40:50]:
        successor(old, "two_way", effective_on="2025-11-15")
    for old in pool[50:60]:
        cat.parts[old]["status"] = "discontinued"

    first = Catalogue(
        parts={k: dict(v) for k, v in cat.parts.items()},
        models=dict(cat.models),
        fitments=list(cat.fitments),
        supersessions=list(cat.supersessions),
    )
    second = cat  # from here on, changes belong to the second release only

    # The DESIGN.md example: the power board -11 is replaced one-way by -12.
    cat.supersessions.append(
        _edge("1-474-594-11", "1-474-594-12", "one_way", effective_on="2026-03-01")
    )
    # Chains that grow: revise some release-1 successors again, twice.
    for edge in list(second.supersessions[:12]):
        newer = successor(edge["new_part_number"], effective_on="2026-06-01")
        if rng.random() < 0.5:
            successor(newer, effective_on="2026-10-01")
    # Kits: one old part replaced by a board plus its cable and screws.
    for old in pool[60:75]:
        successor(old, effective_on="2026-04-01")
        for description, quantity in (("HARNESS, KIT", "1"), ("SCREW (M3X8), KIT", "4")):
            extra = numbers.electrical()
            second.parts[extra] = {
                "part_number": extra,
                "description": description,
                "category": "hardware",
                "unit_price": _price(rng, 0.3, 4),
                "currency": "EUR",
                "status": "active",
                "stock_qty": str(rng.randint(5, 200)),
                "safety_critical": "no",
            }
            second.supersessions.append(
                _edge(old, extra, "one_way", quantity=quantity, effective_on="2026-04-01")
            )
    # Merges: pairs of left/right parts replaced by one universal part.
    for left, right in zip(pool[75:95:2], pool[76:96:2], strict=True):
        universal = numbers.for_category(second.parts[left]["category"])
        second.parts[universal] = dict(
            second.parts[left],
            part_number=universal,
            description=second.parts[left]["description"] + " (UNIVERSAL)",
        )
        second.supersessions.append(_edge(left, universal, "one_way", effective_on="2026-05-01"))
        second.supersessions.append(_edge(right, universal, "one_way", effective_on="2026-05-01"))
    # Conditional, serial-dependent replacements.
    for old in pool[95:105]:
        successor(
            old,
            "conditional",
            serial_from="4012345",
            note="Fit together with the new bracket supplied in the kit; check the serial plate.",
        )
    # No longer available, with and without a replacement.
    for old in pool[105:120]:
        second.parts[old]["status"] = "nla"
    # Price changes and parts dropped from the list.
    for old in pool[120:180]:
        second.parts[old]["unit_price"] = f"{float(second.parts[old]['unit_price']) * 1.1:.2f}"
    for old in pool[50:55]:
        second.parts.pop(old)
    dropped = set(pool[50:55])
    second.fitments = [f for f in second.fitments if f["part_number"] not in dropped]
    for release in (first, second):
        _draw_exploded_views(release)
    return first, second


#: (model, diagram of fitments.csv, drawing format): the demo's exploded views.
DRAWN = (
    ("KDL-55W800C", "Exploded view 1: rear cover", "svg"),
    ("KDL-55W800C", "Exploded view 2: chassis", "svg"),
    ("DSC-RX100M3", "Exploded view 1: cabinet", "svg"),
    ("SRS-XB33", "Exploded view 1: cabinet", "png"),
)


def _draw_exploded_views(cat: Catalogue) -> None:
    """Drawings for a few models, made from the release's own fitments: each part a shape
    with a leader to its reference number, the number's box the hotspot. The chassis view
    places its hotspots by SVG element id, the others by box; one drawing is a PNG."""
    for model, diagram, kind in DRAWN:
        refs: dict[str, str] = {}
        for f in cat.fitments:
            if f["model_number"] == model and f["diagram"] == diagram and f["ref_no"]:
                refs.setdefault(f["ref_no"], cat.parts[f["part_number"]]["description"])
        if not refs:
            continue
        key = f"{model.lower()}-{diagram.split(':')[0].split()[-1]}"
        name = f"{key}.{kind}"
        by_element = "chassis" in diagram
        places = _layout(sorted(refs, key=lambda r: (len(r), r)))
        if kind == "svg":
            cat.drawings[name] = _svg(diagram, refs, places)
        else:
            cat.drawings[name] = _png(places)
        cat.diagrams.append(
            {
                "model_number": model,
                "chassis": "",
                "diagram_id": key,
                "title": diagram,
                "file": name,
            }
        )
        for ref, (x, y) in places.items():
            box = ("", "", "", "") if by_element else (str(x), str(y), "120", "70")
            element = f"ref-{ref}" if by_element else ""
            cat.hotspots.append(
                {
                    "diagram_id": key,
                    "ref_no": ref,
                    "x": box[0],
                    "y": box[1],
                    "w": box[2],
                    "h": box[3],
                    "element_id": element,
                }
            )


DRAWING_WIDTH, COLUMNS = 1000, 6


def _layout(refs: list[str]) -> dict[str, tuple[int, int]]:
    """Each reference's 120 × 70 cell: in rows, shifted like an exploded view."""
    return {
        ref: (20 + (i % COLUMNS) * 160 + (i // COLUMNS % 2) * 40, 20 + (i // COLUMNS) * 100)
        for i, ref in enumerate(refs)
    }


def _height(places: dict[str, tuple[int, int]]) -> int:
    return max(y for _x, y in places.values()) + 110


def _svg(title: str, refs: dict[str, str], places: dict[str, tuple[int, int]]) -> bytes:
    height = _height(places)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {DRAWING_WIDTH} {height}" '
        f'width="{DRAWING_WIDTH}" height="{height}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{DRAWING_WIDTH}" height="{height}" fill="#fff"/>',
    ]
    for ref, (x, y) in places.items():
        shape = int(ref) % 3 if ref.isdigit() else 0
        out.append(f"<g id={quoteattr('ref-' + ref)}>")
        if shape == 0:
            out.append(
                f'<rect x="{x + 40}" y="{y + 8}" width="74" height="44" rx="4" fill="#e8edf2" '
                'stroke="#33414f" stroke-width="2"/>'
            )
        elif shape == 1:
            out.append(
                f'<ellipse cx="{x + 78}" cy="{y + 30}" rx="36" ry="22" fill="#eef2e6" '
                'stroke="#33414f" stroke-width="2"/>'
            )
        else:
            out.append(
                f'<polygon points="{x + 44},{y + 52} {x + 78},{y + 6} {x + 114},{y + 52}" '
                'fill="#f3ece2" stroke="#33414f" stroke-width="2"/>'
            )
        out.append(
            f'<line x1="{x + 30}" y1="{y + 30}" x2="{x + 42}" y2="{y + 30}" stroke="#33414f"/>'
            f'<circle cx="{x + 16}" cy="{y + 30}" r="14" fill="#fff" stroke="#33414f"/>'
            f'<text x="{x + 16}" y="{y + 35}" font-size="13" text-anchor="middle" '
            f'font-family="sans-serif">{escape(ref)}</text>'
            f'<text x="{x + 4}" y="{y + 66}" font-size="9" font-family="sans-serif" '
            f'fill="#555">{escape(refs[ref][:24])}</text>'
        )
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out).encode()


def _png(places: dict[str, tuple[int, int]]) -> bytes:
    """A grey-scale PNG: a dark frame around each part's cell."""
    width, height = DRAWING_WIDTH, _height(places)
    rows = [bytearray(b"\xff" * width) for _ in range(height)]
    for x, y in places.values():
        for dx in range(120):
            rows[y][x + dx] = rows[y + 69][x + dx] = 0x40
        for dy in range(70):
            rows[y + dy][x] = rows[y + dy][x + 119] = 0x40
    raw = b"".join(b"\x00" + bytes(row) for row in rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _edge(
    old: str,
    new: str,
    kind: str,
    *,
    quantity: str = "1",
    effective_on: str = "",
    serial_from: str = "",
    note: str = "",
) -> dict[str, str]:
    return {
        "old_part_number": old,
        "new_part_number": new,
        "quantity": quantity,
        "interchangeability": kind,
        "effective_on": effective_on,
        "serial_from": serial_from,
        "serial_to": "",
        "note": note,
    }


def _write(path: Path, rows: Iterable[dict[str, str]]) -> None:
    rows = list(rows)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_release(catalogue: Catalogue, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / "parts.csv", catalogue.parts.values())
    _write(folder / "models.csv", catalogue.models.values())
    _write(folder / "fitments.csv", catalogue.fitments)
    _write(folder / "supersessions.csv", catalogue.supersessions)
    if catalogue.diagrams:
        _write(folder / "diagrams.csv", catalogue.diagrams)
        _write(folder / "hotspots.csv", catalogue.hotspots)
        for name, data in catalogue.drawings.items():
            (folder / name).write_bytes(data)
    return folder


def load(session: Session, workdir: Path, *, imported_by: str = "demo") -> list[ImportReport]:
    """Import the demo releases that are not there yet (so loading twice changes nothing)."""
    present = set(session.scalars(select(Release.label)))
    reports = []
    for label, catalogue in zip((FIRST, SECOND), build(), strict=True):
        if label in present:
            continue
        folder = write_release(catalogue, workdir / label)
        reports.append(import_release(session, path=folder, label=label, imported_by=imported_by))
    return reports
