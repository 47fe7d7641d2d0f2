"""Relevance: how technicians search, against the demo catalogue, with the first result each
needs. Reports hit@1 and hit@5 (run with ``-s`` to see them); the bar is hit@1 ≥ 0.9.

An expected answer is a part or model number, a description the first result must carry
(optionally among the parts that fit a model: the demo catalogue, like real ones, lists several
power boards for a model, and any current one is right), or ``NOTHING`` for a question the
catalogue cannot answer, where showing nothing beats showing noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from parts_catalog import demo, search, search_index, synonyms
from parts_catalog.indexes import IndexStore
from parts_catalog.models import FitmentVersion
from parts_catalog.numbers import normalise
from parts_catalog.services import release_for
from tests.parts_catalog.test_search import build


@dataclass(frozen=True)
class Desc:
    """A result described so: ``title`` starts with it (and fits ``model``, if given)."""

    title: str
    model: str | None = None


NOTHING = None

RELEVANCE: list[tuple[str, str | Desc | None]] = [
    # Part numbers as they are read off a board, a label or a parts list.
    ("5-635-686-01", "5-635-686-01"),
    ("563568601", "5-635-686-01"),
    ("1-791-970-11", "1-791-970-11"),
    ("1791970 11", "1-791-970-11"),
    ("1 512 346 11", "1-512-346-11"),
    ("151234611", "1-512-346-11"),
    ("1-740-850-11", "1-740-850-11"),
    ("1.740.850.11", "1-740-850-11"),
    ("2-267-971-01", "2-267-971-01"),
    ("2267971-01", "2-267-971-01"),
    ("a-1209-189-a", "A-1209-189-A"),
    ("A1209189A", "A-1209-189-A"),
    ("1-833-151-11", "1-833-151-11"),
    ("a 1532 747 a", "A-1532-747-A"),
    ("A-2712-836-A", "A-2712-836-A"),
    ("x2690996-1", "X-2690-996-1"),
    ("X 2719 290 1", "X-2719-290-1"),
    ("3-829-330-01", "3-829-330-01"),
    ("338943601", "3-389-436-01"),
    ("3/903/730/01", "3-903-730-01"),
    # Superseded numbers: the part asked for first, saying what to order.
    ("A-2846-728-A", "A-2846-728-A"),
    ("a1992630a", "A-1992-630-A"),
    ("A 2804 638 A", "A-2804-638-A"),
    ("A-1125-542-A", "A-1125-542-A"),
    ("1-450-402-11", "1-450-402-11"),
    ("159493811", "1-594-938-11"),
    # A family by its prefix.
    ("1-474-594", Desc("POWER BOARD (GL2")),
    ("A-2619-310", "A-2619-310-A"),
    # Model numbers from the rating plate.
    ("KDL-55W800C", "KDL-55W800C"),
    ("kdl55w800c", "KDL-55W800C"),
    ("kd 49xf9005", "KD-49XF9005"),
    ("XBR65X900E", "XBR-65X900E"),
    ("dsc-rx100m4", "DSC-RX100M4"),
    ("ILCE 7M3", "ILCE-7M3"),
    ("hdr-cx405", "HDR-CX405"),
    ("STR DH790", "STR-DH790"),
    ("srs-xb43", "SRS-XB43"),
    ("wh1000xm4", "WH-1000XM4"),
    ("cmt-sbt100", "CMT-SBT100"),
    # Board names, as technicians type them (typos, plurals, their own words).
    ("power board", Desc("POWER BOARD")),
    ("pwoer board", Desc("POWER BOARD")),
    ("power boards", Desc("POWER BOARD")),
    ("power supply", Desc("POWER BOARD")),
    ("psu", Desc("POWER BOARD")),
    ("main board", Desc("MAIN BOARD")),
    ("mainboard", Desc("MAIN BOARD")),
    ("t-con board", Desc("T-CON BOARD")),
    ("tcon", Desc("T-CON BOARD")),
    ("wifi", Desc("WIRELESS LAN MODULE")),
    ("wirless lan module", Desc("WIRELESS LAN MODULE")),
    ("amplfier board", Desc("AMPLIFIER BOARD")),
    ("remote control", Desc("REMOTE COMMANDER")),
    ("ribbon cable", Desc("FFC CABLE")),
    ("bt module", Desc("BLUETOOTH MODULE")),
    ("ear cushion", Desc("EAR PAD")),
    ("mains lead", Desc("AC CORD")),
    ("cd mechanism", Desc("CD MECHANISM DECK")),
    ("shuter unit", Desc("SHUTTER UNIT")),
    ("lithium battery np-bx5", Desc("BATTERY, LITHIUM ION (NP-BX5)")),
    ("power transformer universal", "1-460-723-11"),
    ("hdmi board universal", "A-2178-895-A"),
    ("cmos sensor universal", "A-1194-706-A"),
    ("rear cover assy universal", "X-2391-541-1"),
    # A part for a given model: the model number narrows the answer.
    ("power board kdl-55w800c", Desc("POWER BOARD", model="KDL-55W800C")),
    ("kdl55w800c power supply", Desc("POWER BOARD", model="KDL-55W800C")),
    ("wifi kd-65xf9005", Desc("WIRELESS LAN MODULE", model="KD-65XF9005")),
    ("flash unit dsc-rx100m3", Desc("FLASH UNIT", model="DSC-RX100M3")),
    ("ear pad wh-1000xm3", Desc("EAR PAD", model="WH-1000XM3")),
    ("main board str-dh590", Desc("MAIN BOARD", model="STR-DH590")),
    # Questions the catalogue cannot answer: nothing, not noise.
    ("tv no picture", NOTHING),
    ("xyzzy", NOTHING),
    ("hdmi cable", NOTHING),
    ("camera strap", NOTHING),
]


def _fits(session: Session, key: str, model: str, release_id: int) -> bool:
    return (
        session.scalar(
            select(FitmentVersion.id).where(
                FitmentVersion.part_norm == normalise(key),
                FitmentVersion.model_norm == normalise(model),
                FitmentVersion.as_of(release_id),
            )
        )
        is not None
    )


def test_relevance(session: Session, tmp_path: Path) -> None:
    demo.load(session, tmp_path / "releases")
    synonyms.load_starter(session)
    store = IndexStore(tmp_path / "index", search_index.INDEX_NAME, search_index.SCHEMA)
    build(session, store)
    release = release_for(session)
    engine = search.PartSearch(
        session, store.searcher(), release, synonyms=search.load_synonyms(session)
    )

    def right(hit: search.Hit, expected: str | Desc) -> bool:
        if isinstance(expected, str):
            return hit.key == expected
        return hit.title.startswith(expected.title) and (
            expected.model is None or _fits(session, hit.key, expected.model, release.id)
        )

    at1 = at5 = 0
    misses = []
    for query, expected in RELEVANCE:
        hits = engine.run(query, limit=5).hits
        if expected is NOTHING:
            first = top5 = not hits
        else:
            first = bool(hits) and right(hits[0], expected)
            top5 = any(right(hit, expected) for hit in hits)
        at1 += first
        at5 += top5
        if not first:
            misses.append((query, expected, [(h.key, h.title) for h in hits[:3]]))
    n = len(RELEVANCE)
    print(f"\nrelevance: {n} queries, hit@1 {at1 / n:.3f}, hit@5 {at5 / n:.3f}")
    for miss in misses:
        print("  miss:", miss)
    assert n >= 60
    assert at1 / n >= 0.9, misses
