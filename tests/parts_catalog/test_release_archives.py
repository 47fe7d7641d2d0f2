"""Release archives are checked before anything is unpacked, and read as a stream.

A 1 MB zip that unpacks to a gigabyte (one line, no line break) once took the server to 4 GB.
"""

from __future__ import annotations

import struct
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parts_catalog.errors import InvalidRelease
from parts_catalog.importer import import_release
from parts_catalog.models import PartVersion, Release
from parts_catalog.release_files import ArchiveLimits
from tests.parts_catalog.releases import base_release, zip_release

MiB = 1 << 20
HEADER = b"part_number,description\n"


def bomb(path: Path, *, size: int = 1024 * MiB, name: str = "parts.csv") -> Path:
    """A zip of about 1 MB whose one member unpacks to ``size`` bytes on a single line."""
    block = b"A" * MiB
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("models.csv", "model_number\nKDL-1\n")
        with archive.open(name, "w", force_zip64=True) as member:
            member.write(HEADER + b"1-1,")
            for _ in range(size // MiB):
                member.write(block)
    return path


@pytest.fixture(scope="module")
def gigabyte_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bomb(tmp_path_factory.mktemp("bomb") / "bomb.zip")


def refused(session: Session, path: Path, **options: object) -> list[str]:
    with pytest.raises(InvalidRelease) as caught:
        import_release(session, path=path, label="bomb", **options)  # type: ignore[arg-type]
    assert session.scalar(select(func.count()).select_from(Release)) == 0
    assert session.scalar(select(func.count()).select_from(PartVersion)) == 0
    return [str(p) for p in caught.value.problems]


def peak_while(action: object) -> int:
    tracemalloc.start()
    try:
        action()  # type: ignore[operator]
    finally:
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


def test_a_zip_bomb_is_refused_before_it_is_unpacked(session: Session, gigabyte_bomb: Path) -> None:
    assert gigabyte_bomb.stat().st_size < 2 * MiB
    problems: list[str] = []
    peak = peak_while(lambda: problems.extend(refused(session, gigabyte_bomb)))
    assert any(
        p.startswith("bomb.zip: unpacks to 1,024.0 MB, more than the 512.0 MB a release")
        for p in problems
    ), problems
    assert any("compressed more than 200 times" in p for p in problems), problems
    assert peak < 32 * MiB


def test_the_ratio_alone_refuses_a_smaller_bomb(session: Session, tmp_path: Path) -> None:
    problems = refused(session, bomb(tmp_path / "b.zip", size=64 * MiB))
    assert problems == [
        "parts.csv: is compressed more than 200 times (a zip bomb?); nothing was unpacked"
    ]


def test_a_lying_size_in_the_archive_is_caught_while_reading(
    session: Session, tmp_path: Path
) -> None:
    path = bomb(tmp_path / "liar.zip", size=64 * MiB)
    data = bytearray(path.read_bytes())
    # Claim 4,000 bytes in the central directory entry of parts.csv, which is what readers
    # (and the checks before unpacking) believe.
    entry = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02") + 4)
    assert data[entry + 46 : entry + 55] == b"parts.csv"
    struct.pack_into("<I", data, entry + 24, 4000)
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("parts.csv").file_size == 4000
    problems = refused(session, path)
    assert any(p.startswith("parts.csv:") and "damaged" in p for p in problems), problems


def test_a_line_without_end_is_refused_without_holding_it(session: Session, tmp_path: Path) -> None:
    folder = base_release(tmp_path / "long")
    with open(folder / "models.csv", "ab") as handle:
        handle.write(b"KDL-9," + b"A" * (48 * MiB))
    problems: list[str] = []
    peak = peak_while(lambda: problems.extend(refused(session, folder)))
    assert "models.csv:4: has a line longer than 1,048,576 bytes; nothing after it was read" in (
        problems
    )
    assert peak < 24 * MiB


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ("../parts.csv", "'../parts.csv': a release archive holds plain file names"),
        ("/etc/parts.csv", "'/etc/parts.csv': a release archive holds plain file names"),
        ("a/b/parts.csv", "'a/b/parts.csv': folders inside folders are not allowed"),
        ("a\\parts.csv", "'a\\\\parts.csv': a release archive holds plain file names"),
    ],
)
def test_odd_member_names_are_refused(
    session: Session, tmp_path: Path, member: str, message: str
) -> None:
    path = tmp_path / "odd.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, HEADER.decode() + "1-1,ONE\n")
    assert any(message in p for p in refused(session, path))


def test_too_many_members_are_refused(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for n in range(40):
            archive.writestr(f"notes-{n}.txt", "x")
    problems = refused(session, path)
    assert problems == ["many.zip: holds 40 files; a release archive holds at most 32"]


def test_limits_are_settings(session: Session, tmp_path: Path) -> None:
    archive = zip_release(base_release(tmp_path / "r"), tmp_path / "r.zip")
    problems = refused(session, archive, limits=ArchiveLimits(max_bytes=200))
    assert any("more than the 0.0 MB a release may unpack to" in p for p in problems), problems
    assert import_release(session, path=archive, label="ok").rows["parts.csv"] == 5


def test_a_folder_of_the_mac_s_resource_forks_is_ignored(session: Session, tmp_path: Path) -> None:
    archive = zip_release(base_release(tmp_path / "r"), tmp_path / "r.zip")
    with zipfile.ZipFile(archive, "a") as bundle:
        bundle.writestr("__MACOSX/release/._parts.csv", b"\x00\x05\x16\x07")
    assert import_release(session, path=archive, label="mac").rows["parts.csv"] == 5
