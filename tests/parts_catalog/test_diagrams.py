"""Exploded views in releases: drawings sanitised, every problem reported with file, line and
column, versions kept per release (snapshot and delta), drawings stored once."""

from __future__ import annotations

import hashlib
import struct
import threading
import time
import zlib
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from parts_catalog import diagrams
from parts_catalog.drawings import (
    MAX_ELEMENTS,
    PNG,
    Drawing,
    DrawingRefused,
    element_outline,
    read_drawing,
    sanitise_svg,
)
from parts_catalog.errors import InvalidRelease
from parts_catalog.importer import import_release
from parts_catalog.models import DELTA, DiagramVersion, DrawingFile, HotspotVersion
from parts_catalog.release_files import ArchiveLimits
from parts_catalog.services import get_model, release_for
from tests.parts_catalog.releases import base_release, zip_release

HOSTILE = b"""<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     viewBox="0 0 200 100" onload="alert('svg')">
  <script>alert('script')</script>
  <style>@import url(https://evil.example/x.css); rect { fill: red }</style>
  <style>.ok { stroke: #333 }</style>
  <foreignObject width="10" height="10"><div xmlns="http://www.w3.org/1999/xhtml">x</div>
  </foreignObject>
  <a href="javascript:alert('a')"><text>click</text></a>
  <image href="https://evil.example/track.png" width="1" height="1"/>
  <use xlink:href="https://evil.example/sprite.svg#x"/>
  <rect id="p101" x="10" y="10" width="30" height="20" onclick="alert('c')"
        style="fill: url(https://evil.example/fill)" class="ok"/>
  <g transform="translate(5 5)"><circle id="p102" cx="100" cy="50" r="10" fill="url(#g)"/></g>
  <animate attributeName="href" to="javascript:alert(1)"/>
  <set attributeName="onmouseover" to="alert(1)"/>
  <use href="#p101" x="50"/>
  <text x="5" y="95" font-size="8">Ref. <tspan>101</tspan> panel</text>
</svg>"""


def svg(width: int = 200, height: int = 100, ids: tuple[str, ...] = ("p101", "p102")) -> bytes:
    shapes = "".join(
        f'<rect id="{i}" x="{10 + 40 * n}" y="10" width="30" height="20"/>'
        for n, i in enumerate(ids)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}">{shapes}</svg>'
    ).encode()


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\xff" * width for _ in range(height)))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


MAIN = {"model_number": "KDL-55W800C", "diagram_id": "kdl-main", "title": "Main chassis"}
CABINET = {"model_number": "DSC-RX100M3", "diagram_id": "rx-cab", "title": "Cabinet"}


def spot(diagram: str, ref: str, x: str = "", y: str = "", w: str = "", h: str = "", **more: str):
    return {"diagram_id": diagram, "ref_no": ref, "x": x, "y": y, "w": w, "h": h, **more}


GOOD_DIAGRAMS = [{**MAIN, "file": "main.svg"}, {**CABINET, "file": "cab.png"}]
GOOD_HOTSPOTS = [
    spot("kdl-main", "101", "10", "10", "30", "20"),
    spot("kdl-main", "102", element_id="p102"),
    spot("rx-cab", "7", "0", "0", "64", "48"),
]


def release_with_views(
    folder: Path,
    diagram_rows: list[dict[str, str]] | None = None,
    hotspot_rows: list[dict[str, str]] | None = None,
    files: dict[str, bytes] | None = None,
    **overrides: object,
) -> Path:
    base_release(
        folder,
        diagrams=GOOD_DIAGRAMS if diagram_rows is None else diagram_rows,
        hotspots=GOOD_HOTSPOTS if hotspot_rows is None else hotspot_rows,
        **overrides,
    )
    drawn = {"main.svg": svg(), "cab.png": png(64, 48)} if files is None else files
    for name, data in drawn.items():
        (folder / name).write_bytes(data)
    return folder


def problems_of(session: Session, path: Path, **kwargs: object) -> list[str]:
    with pytest.raises(InvalidRelease) as caught:
        import_release(session, path=path, label=str(kwargs.pop("label", "bad")), **kwargs)
    return [str(p) for p in caught.value.problems]


def count(session: Session, model: type[object]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def views_of(session: Session, model: str, label: str | None = None) -> list[diagrams.Diagram]:
    release = release_for(session, label)
    info = get_model(session, model, release=release)
    return diagrams.model_diagrams(session, info.number_norm, info.chassis, release=release)


# --- the drawings themselves ------------------------------------------------------------------


def test_a_hostile_svg_is_rebuilt_without_anything_that_runs_or_fetches() -> None:
    drawing = sanitise_svg(HOSTILE)
    text = drawing.data.decode()
    for gone in (
        "script",
        "alert",
        "onload",
        "onclick",
        "foreignObject",
        "javascript",
        "evil.example",
        "@import",
        "<image",
        "<animate",
        "<set",
        "<a ",
    ):
        assert gone not in text, gone
    # What a drawing needs stays: shapes, ids, local references, safe styles, text.
    assert 'id="p101"' in text
    assert 'href="#p101"' in text
    assert 'fill="url(#g)"' in text
    assert ".ok { stroke: #333 }" in text
    assert "Ref. <tspan>101</tspan> panel" in text
    assert drawing.element_ids == {"p101", "p102"}
    assert (drawing.box.width, drawing.box.height) == (200, 100)
    assert "<script>" in drawing.removed
    assert "onload on <svg>" in drawing.removed
    # Sanitising its own output changes nothing: an export re-imports to the same drawing.
    assert sanitise_svg(drawing.data).data == drawing.data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1">&b;</svg>',
            "no DTD or entities",
        ),
        (b"<svg", "is not well-formed XML"),
        (b'<html xmlns="http://www.w3.org/1999/xhtml"/>', "root element is not <svg>"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "has neither a viewBox"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" width="10cm" height="5cm"/>', "neither"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 -1 5"/>', "viewBox"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1">'
            + b"<g>" * (MAX_ELEMENTS + 1)
            + b"</g>" * (MAX_ELEMENTS + 1)
            + b"</svg>",
            "elements; a drawing may have at most",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1">'
            + b"<g>" * 100
            + b"</g>" * 100
            + b"</svg>",
            "nests elements deeper",
        ),
    ],
)
def test_svgs_that_are_not_drawings_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(DrawingRefused, match=message):
        read_drawing("x.svg", data, max_bytes=10 << 20)


def test_a_png_is_measured_from_its_header_and_checked() -> None:
    drawing = read_drawing("x.png", png(640, 480), max_bytes=1 << 20)
    assert (drawing.media_type, drawing.box.width, drawing.box.height) == (PNG, 640, 480)
    with pytest.raises(DrawingRefused, match="is not a PNG image"):
        read_drawing("x.png", b"GIF89a" + b"\x00" * 40, max_bytes=1 << 20)
    with pytest.raises(DrawingRefused, match="more than 100 bytes"):
        read_drawing("x.png", png(400, 400), max_bytes=100)
    with pytest.raises(DrawingRefused, match="neither an SVG nor a PNG"):
        read_drawing("x.gif", b"GIF89a", max_bytes=100)


def test_an_element_hotspot_is_outlined_with_its_ancestors_transforms() -> None:
    clean = sanitise_svg(HOSTILE).data
    outline = element_outline(clean, "p102")
    assert outline is not None
    assert 'transform="translate(5 5)"' in outline
    assert "<circle" in outline
    assert "id=" not in outline
    assert "fill" not in outline
    assert element_outline(clean, "nowhere") is None


# --- importing ---------------------------------------------------------------------------------


def test_a_release_with_exploded_views_imports(session: Session, tmp_path: Path) -> None:
    report = import_release(session, path=release_with_views(tmp_path / "r1"), label="r1")
    assert report.rows["diagrams.csv"] == 2
    assert report.rows["hotspots.csv"] == 3
    assert vars(report.changes["diagrams.csv"]) == {"added": 2, "removed": 0, "changed": 0}
    assert vars(report.changes["hotspots.csv"]) == {"added": 3, "removed": 0, "changed": 0}
    [main] = views_of(session, "KDL-55W800C")
    assert (main.key, main.title, main.file_name) == ("kdl-main", "Main chassis", "main.svg")
    assert [(h.ref_no, h.x, h.element_id) for h in main.hotspots] == [
        ("101", 10.0, None),
        ("102", None, "p102"),
    ]
    [cabinet] = views_of(session, "DSC-RX100M3")
    assert cabinet.media_type == PNG
    assert count(session, DrawingFile) == 2


def test_a_hostile_drawing_is_stored_sanitised(session: Session, tmp_path: Path) -> None:
    path = release_with_views(tmp_path / "r1", files={"main.svg": HOSTILE, "cab.png": png(64, 48)})
    import_release(session, path=path, label="r1")
    [main] = views_of(session, "KDL-55W800C")
    stored = diagrams.drawing_file(session, main.sha256)
    assert stored is not None
    assert b"script" not in stored.data
    assert b"evil.example" not in stored.data
    assert b"onload" not in stored.data


def test_every_problem_of_the_views_is_named_with_file_line_and_column(
    session: Session, tmp_path: Path
) -> None:
    diagram_rows = [
        {**MAIN, "file": "main.svg"},  # 2
        {**CABINET, "file": "missing.svg"},  # 3: not in the release
        {**MAIN, "diagram_id": "kdl-main", "file": "main.svg"},  # 4: repeated
        {
            "diagram_id": "both",
            "title": "T",
            "model_number": "KDL-55W800C",
            "chassis": "GN2",
            "file": "main.svg",
        },  # 5
        {"diagram_id": "neither", "title": "T", "file": "main.svg"},  # 6
        {"diagram_id": "no model", "model_number": "KDL-1", "title": "T", "file": "main.svg"},  # 7
        {"diagram_id": "up", "model_number": "KDL-55W800C", "title": "T", "file": "../x.svg"},  # 8
        {"diagram_id": "gif", "model_number": "KDL-55W800C", "title": "T", "file": "x.gif"},  # 9
        {
            "diagram_id": "hostile",
            "model_number": "KDL-55W800C",
            "title": "T",
            "file": "dtd.svg",
        },  # 10
        {"diagram_id": "big", "model_number": "KDL-55W800C", "title": "T", "file": "big.png"},  # 11
    ]
    hotspot_rows = [
        spot("kdl-main", "101", "10", "10", "30", "20"),  # 2: fine
        spot("kdl-main", "999", "10", "10", "30", "20"),  # 3: unknown ref number
        spot("kdl-main", "102", "190", "90", "30", "20"),  # 4: outside the drawing
        spot("kdl-main", "102", element_id="nowhere"),  # 5: no such element
        spot("kdl-main", "102", "1", "2", "3"),  # 6: a box of three numbers
        spot("kdl-main", "102", "1", "2", "3", "4", element_id="p101"),  # 7: both
        spot("kdl-main", "102", "1", "2", "0", "4"),  # 8: no width
        spot("kdl-main", "102"),  # 9: no place
        spot("elsewhere", "101", "1", "1", "1", "1"),  # 10: unknown diagram
        spot("kdl-main", "101", "10", "10", "30", "20"),  # 11: repeats line 2
        spot("kdl-main", "102", "a", "1", "1", "1"),  # 12: not a number
    ]
    path = release_with_views(
        tmp_path / "r1",
        diagram_rows,
        hotspot_rows,
        files={
            "main.svg": svg(),
            "dtd.svg": b'<!DOCTYPE svg [<!ENTITY x "y">]><svg viewBox="0 0 1 1"/>',
            "big.png": png(400, 400),
        },
    )
    found = problems_of(session, path, diagram_max_bytes=500)
    assert found == [
        "diagrams.csv:5 [chassis]: give a model_number or a chassis, not both",
        "diagrams.csv:6 [model_number]: give the model_number, or the chassis, the diagram is for",
        "diagrams.csv:7 [diagram_id]: 'no model' is not an id: letters, digits, dots, dashes and "
        "underscores",
        "diagrams.csv:8 [file]: '../x.svg' is not a plain file name (letters, digits, dots, "
        "dashes, underscores): drawings sit beside the CSV files",
        "diagrams.csv:9 [file]: 'x.gif' is neither an SVG nor a PNG drawing (.svg or .png)",
        "diagrams.csv:3 [file]: missing.svg is not in the release: put the drawing beside "
        "diagrams.csv",
        "diagrams.csv:4 [diagram_id]: repeats the diagram on line 2",
        "diagrams.csv:10 [file]: dtd.svg is refused: DTDForbidden (no DTD or entities)",
        "diagrams.csv:11 [file]: big.png is more than 500 bytes, the most a drawing may be "
        "(DIAGRAM_MAX_BYTES)",
        "hotspots.csv:6 [h]: a box needs all four of x, y, w and h",
        "hotspots.csv:7 [element_id]: give x, y, w and h, or an element_id, not both",
        "hotspots.csv:8 [w]: a box's width and height must be more than 0",
        "hotspots.csv:12 [x]: 'a' is not a number",
        "hotspots.csv:9 [x]: give x, y, w and h, or the element_id",
        "hotspots.csv:11 [ref_no]: repeats the hotspot on line 2",
        "hotspots.csv:4 [x]: the box 190 90 30 20 lies outside the drawing main.svg "
        "(0 0 200 100: x y width height)",
        "hotspots.csv:5 [element_id]: main.svg has no element with id 'nowhere'",
        "hotspots.csv:10 [diagram_id]: diagram elsewhere is neither in diagrams.csv nor listed",
    ]
    assert count(session, DiagramVersion) == 0


def test_unknown_models_chassis_and_ref_numbers_are_reported(
    session: Session, tmp_path: Path
) -> None:
    diagram_rows = [
        {**MAIN, "file": "main.svg"},
        {"model_number": "KDL-99X", "diagram_id": "ghost", "title": "T", "file": "main.svg"},
        {"chassis": "ZZ9", "diagram_id": "zz", "title": "T", "file": "main.svg"},
        {"chassis": "GN2", "diagram_id": "gn2", "title": "Main chassis", "file": "main.svg"},
    ]
    hotspot_rows = [
        spot("kdl-main", "101", "10", "10", "30", "20"),
        spot("kdl-main", "7", "10", "10", "30", "20"),  # the camera's ref, not this model's
        spot("gn2", "102", "10", "10", "30", "20"),  # the chassis's models fit 102
        spot("gn2", "103", "10", "10", "30", "20"),
    ]
    found = problems_of(session, release_with_views(tmp_path / "r1", diagram_rows, hotspot_rows))
    assert found == [
        "diagrams.csv:3 [model_number]: model KDL-99X is not in this release or an earlier one",
        "diagrams.csv:4 [chassis]: no model listed has chassis ZZ9",
        "hotspots.csv:3 [ref_no]: ref 7 is not a fitment on diagram kdl-main: fitments.csv gives "
        "no part at that ref_no for its model(s) and diagram",
        "hotspots.csv:5 [ref_no]: ref 103 is not a fitment on diagram gn2: fitments.csv gives "
        "no part at that ref_no for its model(s) and diagram",
    ]


def test_a_ref_number_of_another_diagram_of_the_model_is_unknown_here(
    session: Session, tmp_path: Path
) -> None:
    diagram_rows = [{**MAIN, "diagram_id": "rear", "title": "Rear cover", "file": "main.svg"}]
    hotspot_rows = [spot("rear", "101", "10", "10", "30", "20")]  # 101 is on "Main chassis"
    found = problems_of(session, release_with_views(tmp_path / "r1", diagram_rows, hotspot_rows))
    assert [p.split(":")[0] + ":" + p.split(":")[1] for p in found] == ["hotspots.csv:2 [ref_no]"]


def test_a_zip_release_carries_its_drawings(session: Session, tmp_path: Path) -> None:
    folder = release_with_views(tmp_path / "r1")
    archive = zip_release(folder, tmp_path / "r1.zip")
    import_release(session, path=archive, label="r1")
    assert [d.key for d in views_of(session, "KDL-55W800C")] == ["kdl-main"]


def test_drawings_are_counted_apart_from_the_archives_other_files(
    session: Session, tmp_path: Path
) -> None:
    folder = release_with_views(tmp_path / "r1")
    for n in range(40):
        (folder / f"spare-{n}.svg").write_bytes(svg())
    archive = zip_release(folder, tmp_path / "r1.zip")
    assert import_release(session, path=archive, label="r1").rows["diagrams.csv"] == 2
    with pytest.raises(InvalidRelease) as caught:
        import_release(session, path=archive, label="r2", limits=ArchiveLimits(max_drawings=10))
    assert [str(p) for p in caught.value.problems] == [
        "r1.zip: holds 42 drawings; a release archive holds at most 10"
    ]


def test_a_chassis_diagram_shows_on_every_model_of_the_chassis(
    session: Session, tmp_path: Path
) -> None:
    diagram_rows = [
        {"chassis": "GN2", "diagram_id": "gn2", "title": "Main chassis", "file": "main.svg"}
    ]
    hotspot_rows = [spot("gn2", "101", "10", "10", "30", "20")]
    import_release(
        session, path=release_with_views(tmp_path / "r1", diagram_rows, hotspot_rows), label="r1"
    )
    assert [d.key for d in views_of(session, "KDL-55W800C")] == ["gn2"]
    assert views_of(session, "DSC-RX100M3") == []


# --- versions across releases ------------------------------------------------------------------


def test_a_diagram_that_changes_between_releases_is_kept_as_of_each(
    session: Session, tmp_path: Path
) -> None:
    import_release(session, path=release_with_views(tmp_path / "r1"), label="r1")
    [before] = views_of(session, "KDL-55W800C")
    # Release 2: a bigger drawing, ref 101 moved, ref 102 now a box.
    hotspots = [
        spot("kdl-main", "101", "300", "150", "40", "30"),
        spot("kdl-main", "102", "10", "10", "30", "20"),
        GOOD_HOTSPOTS[2],
    ]
    files = {"main.svg": svg(400, 200), "cab.png": png(64, 48)}
    report = import_release(
        session, path=release_with_views(tmp_path / "r2", None, hotspots, files), label="r2"
    )
    assert vars(report.changes["diagrams.csv"]) == {"added": 0, "removed": 0, "changed": 1}
    assert vars(report.changes["hotspots.csv"]) == {"added": 0, "removed": 0, "changed": 2}
    [old] = views_of(session, "KDL-55W800C", "r1")
    [new] = views_of(session, "KDL-55W800C", "r2")
    assert old == before
    assert old.sha256 != new.sha256
    assert (old.box.width, new.box.width) == (200, 400)
    assert [(h.ref_no, h.x) for h in new.hotspots] == [("101", 300.0), ("102", 10.0)]
    assert count(session, DrawingFile) == 3  # the PNG was stored once


def test_a_release_repeating_the_views_writes_nothing(session: Session, tmp_path: Path) -> None:
    import_release(session, path=release_with_views(tmp_path / "r1"), label="r1")
    before = (
        count(session, DiagramVersion),
        count(session, HotspotVersion),
        count(session, DrawingFile),
    )
    report = import_release(session, path=release_with_views(tmp_path / "r2"), label="r2")
    assert vars(report.changes["diagrams.csv"]) == {"added": 0, "removed": 0, "changed": 0}
    assert vars(report.changes["hotspots.csv"]) == {"added": 0, "removed": 0, "changed": 0}
    after = (
        count(session, DiagramVersion),
        count(session, HotspotVersion),
        count(session, DrawingFile),
    )
    assert after == before


def test_a_snapshot_without_the_files_carries_the_views_over(
    session: Session, tmp_path: Path
) -> None:
    import_release(session, path=release_with_views(tmp_path / "r1"), label="r1")
    report = import_release(session, path=base_release(tmp_path / "r2"), label="r2")
    assert report.carried_over == ["diagrams.csv", "hotspots.csv"]
    assert [d.key for d in views_of(session, "KDL-55W800C", "r2")] == ["kdl-main"]


def test_a_snapshot_listing_fewer_diagrams_ends_the_others_and_their_hotspots(
    session: Session, tmp_path: Path
) -> None:
    import_release(session, path=release_with_views(tmp_path / "r1"), label="r1")
    path = release_with_views(
        tmp_path / "r2", [GOOD_DIAGRAMS[0]], GOOD_HOTSPOTS[:2], {"main.svg": svg()}
    )
    report = import_release(session, path=path, label="r2")
    assert vars(report.changes["diagrams.csv"]) == {"added": 0, "removed": 1, "changed": 0}
    assert views_of(session, "DSC-RX100M3", "r2") == []
    assert len(views_of(session, "DSC-RX100M3", "r1")) == 1


def test_a_delta_changes_one_ref_and_drops_a_diagram(session: Session, tmp_path: Path) -> None:
    import_release(session, path=release_with_views(tmp_path / "r1"), label="r1")
    folder = tmp_path / "d1"
    folder.mkdir()
    (folder / "diagrams.csv").write_text(
        "diagram_id,title,file,model_number,chassis,action\nrx-cab,,,,,drop\n", encoding="utf-8"
    )
    (folder / "hotspots.csv").write_text(
        "diagram_id,ref_no,x,y,w,h,element_id,action\n"
        "kdl-main,101,100,50,20,20,,\n"
        "kdl-main,102,,,,,,drop\n",
        encoding="utf-8",
    )
    report = import_release(session, path=folder, label="d1", kind=DELTA)
    assert vars(report.changes["diagrams.csv"]) == {"added": 0, "removed": 1, "changed": 0}
    assert vars(report.changes["hotspots.csv"]) == {"added": 0, "removed": 2, "changed": 1}
    [main] = views_of(session, "KDL-55W800C", "d1")
    assert [(h.ref_no, h.x) for h in main.hotspots] == [("101", 100.0)]
    assert views_of(session, "DSC-RX100M3", "d1") == []
    # The drawing stays as listed: a delta need not carry a drawing it does not change.
    assert main.sha256 == views_of(session, "KDL-55W800C", "r1")[0].sha256


def test_a_delta_cannot_drop_what_is_not_listed(session: Session, tmp_path: Path) -> None:
    import_release(session, path=release_with_views(tmp_path / "r1"), label="r1")
    folder = tmp_path / "d1"
    folder.mkdir()
    (folder / "diagrams.csv").write_text(
        "diagram_id,title,file,model_number,chassis,action\nnone,,,,,drop\n", encoding="utf-8"
    )
    (folder / "hotspots.csv").write_text(
        "diagram_id,ref_no,x,y,w,h,element_id,action\nkdl-main,555,,,,,,drop\n", encoding="utf-8"
    )
    assert problems_of(session, folder, kind=DELTA) == [
        "diagrams.csv:2 [diagram_id]: diagram none is not listed: nothing to drop",
        "hotspots.csv:2 [ref_no]: no hotspot of ref 555 on diagram kdl-main is listed: nothing to "
        "drop",
    ]


def test_a_delta_replacing_a_drawing_checks_the_hotspots_it_keeps(
    session: Session, tmp_path: Path
) -> None:
    import_release(session, path=release_with_views(tmp_path / "r1"), label="r1")
    folder = tmp_path / "d1"
    folder.mkdir()
    (folder / "diagrams.csv").write_text(
        "diagram_id,title,file,model_number\nkdl-main,Main chassis,small.svg,KDL-55W800C\n",
        encoding="utf-8",
    )
    (folder / "small.svg").write_bytes(svg(20, 20, ids=()))
    assert problems_of(session, folder, kind=DELTA) == [
        "hotspots.csv [x]: the hotspot of ref 101 on diagram kdl-main, kept from the listed "
        "release: the box 10 10 30 20 lies outside the drawing small.svg (0 0 20 20: x y width "
        "height)",
        "hotspots.csv [element_id]: the hotspot of ref 102 on diagram kdl-main, kept from the "
        "listed release: small.svg has no element with id 'p102'",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kdl-55w800c ref 251", ("kdl-55w800c", "251")),
        ("KDL-55W800C ref. 251", ("KDL-55W800C", "251")),
        ("KDL-55W800C #251", ("KDL-55W800C", "251")),
        ("kdl-55w800c reference no. 12", ("kdl-55w800c", "12")),
        ("power board", None),
        ("ref 251", None),
    ],
)
def test_a_ref_number_query_is_read(text: str, expected: tuple[str, str] | None) -> None:
    assert diagrams.ref_number_query(text) == expected


# --- two imports storing one drawing at once ------------------------------------------------------


def test_two_imports_storing_the_same_drawing_at_once_store_it_once(engine: Engine) -> None:
    """Decided by the primary key (an insert that does nothing on conflict), with real
    connections: neither import fails, one row is kept."""
    trials, failed, rows = 20, 0, []
    try:
        for trial in range(trials):
            drawing = sanitise_svg(svg(100 + trial, 50))
            ready = threading.Barrier(2)
            errors: list[BaseException] = []

            def store(
                drawing: Drawing = drawing,
                ready: threading.Barrier = ready,
                errors: list[BaseException] = errors,
            ) -> None:
                for attempt in range(100):
                    with Session(engine) as session:
                        try:
                            session.connection()  # begin before the other stores
                            if attempt == 0:
                                ready.wait(10)
                            diagrams.store_drawing(session, drawing)
                            session.commit()
                            return
                        except OperationalError as exc:  # SQLite: "database is locked"
                            session.rollback()
                            if "locked" not in str(exc):
                                errors.append(exc)
                                return
                            time.sleep(0.01)
                        except BaseException as exc:
                            errors.append(exc)
                            return

            threads = [threading.Thread(target=store) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            failed += len(errors)
            with Session(engine) as session:
                sha = hashlib.sha256(drawing.data).hexdigest()
                rows.append(
                    session.scalar(select(func.count()).where(DrawingFile.sha256 == sha)) or 0
                )
    finally:
        with Session(engine) as session:
            session.execute(delete(DrawingFile))
            session.commit()
    print(
        f"\n{trials} pairs of imports storing one drawing at once ({engine.dialect.name}): "
        f"{failed} failed, rows kept per drawing: {sorted(set(rows))}"
    )
    assert failed == 0
    assert set(rows) == {1}
