"""Reading release files in chunks gives the same rows and lines as reading them whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from parts_catalog.release_files import (
    PARTS,
    Problems,
    ReleaseSource,
    convert_part,
    read_rows,
)
from tests.parts_catalog.releases import part, write_release

ROWS = [
    part("1-1", "PLAIN"),
    part("1-2", 'CABLE, "FLAT"\nRUNS OVER\nTHREE LINES'),
    *(part(f"2-{n}", f"PART {n}") for n in range(40)),
    part("3-1", "SCREW, M3"),
    part("3-2", status="gone"),
    *(part(f"4-{n}", f"PART {n}") for n in range(40)),
]


def read(folder: Path, chunk_bytes: int, unchanged: dict[int, bool] | None = None):
    problems = Problems()
    source = ReleaseSource(folder, problems)
    rows = list(
        read_rows(
            source, PARTS, problems, convert_part, unchanged=unchanged, chunk_bytes=chunk_bytes
        )
    )
    return rows, [str(p) for p in problems.all()]


@pytest.mark.parametrize("chunk_bytes", [1, 64, 300, 1 << 22])
def test_chunks_do_not_change_rows_or_lines(tmp_path: Path, chunk_bytes: int) -> None:
    folder = write_release(tmp_path / "r", parts=ROWS)
    whole, whole_problems = read(folder, 1 << 30)
    chunked, chunked_problems = read(folder, chunk_bytes)
    assert chunked == whole
    assert (
        chunked_problems
        == whole_problems
        == ["parts.csv:47 [status]: 'gone' is not one of active, discontinued, nla"]
    )
    lines = {row[1]: line for line, _digest, row in whole}
    assert lines["1-2"] == 3
    assert lines["2-0"] == 6


@pytest.mark.parametrize("chunk_bytes", [1, 64, 1 << 22])
def test_repeated_rows_are_skipped_and_the_rest_reported(tmp_path: Path, chunk_bytes: int) -> None:
    folder = write_release(tmp_path / "r", parts=ROWS)
    first, _ = read(folder, chunk_bytes)
    digests = {digest for _line, digest, _row in first}
    changed = [dict(r) for r in ROWS]
    changed[0]["description"] = "PLAIN, REVISED"
    second_folder = write_release(tmp_path / "r2", parts=changed)
    remaining = dict.fromkeys(digests, True)
    second, _ = read(second_folder, chunk_bytes, unchanged=remaining)
    assert [row[1] for _line, _digest, row in second] == ["1-1"]
    assert len(remaining) == 1  # the old version of 1-1: no longer repeated


def test_a_row_differing_only_in_stock_repeats_its_version_however_the_file_is_chunked(
    tmp_path: Path,
) -> None:
    """Stock is not versioned: its column is left out of a row's digest, whether a chunk's
    lines are digested together or (a chunk holding a short row) one by one."""
    header = ",".join(PARTS.columns)

    def write(folder: Path, stock: int, short_row: bool) -> Path:
        folder.mkdir()
        lines = [f"6-{n},PART {n},board,1.00,EUR,active,{stock + n},no" for n in range(30)]
        if short_row:
            lines.insert(15, "6-X,SHORT")
        (folder / "parts.csv").write_text("\n".join([header, *lines]) + "\n")
        return folder

    first, _ = read(write(tmp_path / "a", 0, short_row=False), 1 << 22)
    digests = {row[1]: digest for _line, digest, row in first}
    for chunk_bytes in (1, 100, 1 << 22):
        folder = write(tmp_path / f"b{chunk_bytes}", 1000, short_row=True)
        found, problems = read(folder, chunk_bytes)
        assert {row[1]: digest for _line, digest, row in found} == digests
        assert problems == ["parts.csv:17: has 2 fields, the header has 8"]
        remaining = dict.fromkeys(digests.values(), True)
        again, _ = read(folder, chunk_bytes, unchanged=remaining)
        assert again == []
        assert remaining == {}
