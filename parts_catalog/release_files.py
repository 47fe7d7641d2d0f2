"""Reading release files: a directory or a ``.zip`` of UTF-8 CSV files (DESIGN.md's contract).

Each row is checked on its own here (shape, types, allowed values) and turned into a plain tuple;
checks that need other rows or the database (duplicates, unknown numbers, cycles) are the
importer's. Problems are collected, never raised one at a time, so a report names every one.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from itertools import compress, count, repeat
from operator import add, eq, is_, itemgetter
from operator import sub as minus
from pathlib import Path
from typing import IO, Any

import xxhash

from parts_catalog.drawings import media_type_of
from parts_catalog.errors import Problem
from parts_catalog.numbers import FORMULA_STARTS, compare_serials, normalise, plain_dashes
from parts_catalog.supersession import INTERCHANGEABILITY, ONE_WAY

PART_STATUSES = ("active", "discontinued", "nla")
MAX_PROBLEMS = 1000
CENT = Decimal("0.01")

Row = tuple[Any, ...]


#: A delta's optional column: ``drop`` delists the row its key names; empty adds or changes it.
ACTION, DROP = "action", "drop"


@dataclass(frozen=True)
class FileSpec:
    name: str
    columns: tuple[str, ...]
    required: tuple[str, ...]
    file_required: bool = False
    #: What names a row for a delta's drop, where that is not its number columns.
    drop_key: tuple[str, ...] = ()

    @property
    def numbers(self) -> tuple[str, ...]:
        """The required columns that are part or model numbers: all a drop needs."""
        if self.drop_key:
            return self.drop_key
        return tuple(c for c in self.required if c.endswith("_number"))


PARTS = FileSpec(
    "parts.csv",
    (
        "part_number",
        "description",
        "category",
        "unit_price",
        "currency",
        "status",
        "stock_qty",
        "safety_critical",
    ),
    ("part_number", "description"),
    file_required=True,
)
MODELS = FileSpec(
    "models.csv",
    (
        "model_number",
        "name",
        "product_line",
        "chassis",
        "released_on",
        "support_ends_on",
        "exchange_value",
    ),
    ("model_number",),
)
FITMENTS = FileSpec(
    "fitments.csv",
    ("model_number", "part_number", "ref_no", "diagram", "quantity", "serial_from", "serial_to"),
    ("model_number", "part_number"),
)
SUPERSESSIONS = FileSpec(
    "supersessions.csv",
    (
        "old_part_number",
        "new_part_number",
        "quantity",
        "interchangeability",
        "effective_on",
        "serial_from",
        "serial_to",
        "note",
    ),
    ("old_part_number", "new_part_number"),
)
#: Exploded views (``parts_catalog.diagrams``): a drawing per diagram, for one model or for
#: every model of a chassis; the drawing files (SVG or PNG) travel in the release beside them.
DIAGRAMS = FileSpec(
    "diagrams.csv",
    ("model_number", "chassis", "diagram_id", "title", "file"),
    ("diagram_id", "title", "file"),
    drop_key=("diagram_id",),
)
#: Where each reference number is on a diagram: a box in the drawing's units, or an SVG element.
HOTSPOTS = FileSpec(
    "hotspots.csv",
    ("diagram_id", "ref_no", "x", "y", "w", "h", "element_id"),
    ("diagram_id", "ref_no"),
    drop_key=("diagram_id", "ref_no"),
)
SPECS = (PARTS, MODELS, FITMENTS, SUPERSESSIONS, DIAGRAMS, HOTSPOTS)


class Problems:
    """Collects problems; stops storing past ``MAX_PROBLEMS`` but keeps counting."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.count = 0

    def add(self, file: str, line: int | None, column: str | None, message: str) -> None:
        self.count += 1
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(file, line, column, message))

    def __bool__(self) -> bool:
        return self.count > 0

    def all(self) -> list[Problem]:
        extra = self.count - len(self.items)
        if extra > 0:
            return [*self.items, Problem("", None, None, f"… and {extra} more problems")]
        return list(self.items)


MiB = 1 << 20
#: No release line comes near this; a longer one is not a CSV row (or is a zip bomb's one line).
MAX_LINE_BYTES = MiB
#: Finder's resource forks, added to every zip made on a Mac: skipped, not refused.
_MAC_FORKS = "__MACOSX/"


@dataclass(frozen=True)
class ArchiveLimits:
    """What a release archive may unpack to, checked from its directory before anything is
    unpacked, and again by counting while its files are read (a directory can lie)."""

    max_bytes: int = 512 * MiB
    #: Uncompressed over compressed size of one file; CSV compresses 5 to 20 times.
    max_ratio: int = 200
    max_members: int = 32
    #: Drawings of exploded views (``.svg``, ``.png``) are counted apart: a catalogue has
    #: hundreds of them, each also capped in size (DIAGRAM_MAX_BYTES).
    max_drawings: int = 5000
    #: Files smaller than this are never refused for their ratio: they cannot be a bomb.
    ratio_from_bytes: int = MiB


class ReleaseFileDamaged(Exception):
    """A file of the release could not be read; ``str(exc)`` says why."""


class _ArchiveOverrun(Exception):
    """A file of the archive unpacked to more than its directory said, or past the limit."""


class _Counted(io.RawIOBase):
    """An archive member's bytes, counted against what its directory entry declared and the
    archive's total budget."""

    def __init__(self, raw: IO[bytes], declared: int, budget: list[int]) -> None:
        self._raw, self._left, self._budget = raw, declared, budget

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        self._left -= len(data)
        self._budget[0] -= len(data)
        if self._left < 0 or self._budget[0] < 0:
            raise _ArchiveOverrun()
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


def _odd_member(name: str) -> str | None:
    """Why an archive member's name is refused, if it is."""
    parts = name.rstrip("/").split("/")
    if (
        name.startswith("/")
        or "\\" in name
        or any(p in ("", ".", "..") for p in parts)
        or any(not c.isprintable() for c in name)
        or ":" in parts[0]
    ):
        return "a release archive holds plain file names, at most in one folder"
    if len(parts) > 2:
        return (
            "folders inside folders are not allowed; put the CSV files at the top or in one folder"
        )
    return None


class ReleaseSource:
    """The CSV files of one release, from a directory or a zip archive."""

    def __init__(self, path: Path, problems: Problems, limits: ArchiveLimits | None = None) -> None:
        self.path = path
        self._problems = problems
        self._zip: zipfile.ZipFile | None = None
        self._members: dict[str, str] = {}
        #: Drawing files (``.svg``, ``.png``) by name, for ``diagrams.csv`` to name.
        self._drawings: dict[str, str] = {}
        self._declared: dict[str, int] = {}
        self._limits = limits or ArchiveLimits()
        self._budget = [self._limits.max_bytes]
        #: The archive was refused from its directory: none of it is to be read.
        self.refused = False
        if path.is_dir():
            self._members = {p.name: str(p) for p in path.iterdir() if p.suffix == ".csv"}
            self._drawings = {
                p.name: str(p) for p in path.iterdir() if p.is_file() and media_type_of(p.name)
            }
        elif path.is_file() and zipfile.is_zipfile(path):
            try:
                self._zip = zipfile.ZipFile(path)
                self._check_archive(self._zip)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
                problems.add(path.name, None, None, f"is a damaged zip archive ({exc})")
                self.refused = True
            if self.refused:
                self._members, self._drawings = {}, {}
                return
        elif path.exists():
            problems.add(path.name, None, None, "is neither a directory nor a .zip archive")
        else:
            problems.add(str(path), None, None, "does not exist")
        known = {spec.name for spec in SPECS}
        for name in sorted(set(self._members) - known):
            problems.add(
                name, None, None, f"is not a release file (expected {', '.join(sorted(known))})"
            )

    def _check_archive(self, archive: zipfile.ZipFile) -> None:
        """Refuse, from the archive's directory alone, what would unpack too much or oddly."""
        limits, problems = self._limits, self._problems
        infos = [i for i in archive.infolist() if not i.filename.startswith(_MAC_FORKS)]
        drawings = sum(1 for i in infos if media_type_of(i.filename))
        if len(infos) - drawings > limits.max_members or drawings > limits.max_drawings:
            others = len(infos) - drawings
            problems.add(
                self.path.name,
                None,
                None,
                f"holds {others} files; a release archive holds at most {limits.max_members}"
                if others > limits.max_members
                else f"holds {drawings} drawings; a release archive holds at most "
                f"{limits.max_drawings}",
            )
            self.refused = True
            return
        total = 0
        for info in infos:
            why = _odd_member(info.filename)
            if why is not None:
                problems.add(self.path.name, None, None, f"{info.filename!r}: {why}")
                self.refused = True
                continue
            if info.is_dir():
                continue
            name = Path(info.filename).name
            total += info.file_size
            if (
                info.file_size >= limits.ratio_from_bytes
                and info.file_size > limits.max_ratio * max(info.compress_size, 1)
            ):
                problems.add(
                    name,
                    None,
                    None,
                    f"is compressed more than {limits.max_ratio} times (a zip bomb?); "
                    "nothing was unpacked",
                )
                self.refused = True
            if name.endswith(".csv"):
                if name in self._members:
                    problems.add(name, None, None, "appears twice in the archive")
                self._members[name] = info.filename
                self._declared[name] = info.file_size
            elif media_type_of(name):
                if name in self._drawings:
                    problems.add(name, None, None, "appears twice in the archive")
                self._drawings[name] = info.filename
                self._declared[name] = info.file_size
        if total > limits.max_bytes:
            problems.add(
                self.path.name,
                None,
                None,
                f"unpacks to {total / MiB:,.1f} MB, more than the {limits.max_bytes / MiB:,.1f} "
                "MB a release may unpack to (RELEASE_MAX_BYTES); nothing was unpacked",
            )
            self.refused = True

    def has(self, name: str) -> bool:
        return name in self._members

    def drawing_names(self) -> list[str]:
        return sorted(self._drawings)

    def read_drawing(self, name: str, max_bytes: int) -> bytes | None:
        """The drawing file's bytes, at most ``max_bytes + 1`` of them (enough to tell it is
        too big); ``None`` when the release has no such file.

        :raises ReleaseFileDamaged: when the archive cannot give the file.
        """
        member = self._drawings.get(name)
        if member is None:
            return None
        try:
            if self._zip is None:
                with open(member, "rb") as handle:
                    return handle.read(max_bytes + 1)
            counted = _Counted(self._zip.open(member), self._declared[name], self._budget)
            with io.BufferedReader(counted) as handle:
                return handle.read(max_bytes + 1)
        except _ArchiveOverrun:
            raise ReleaseFileDamaged(
                "unpacks to more than the archive's directory says, or past the limit"
            ) from None
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise ReleaseFileDamaged(f"is damaged in the archive ({exc})") from None

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        """The file's bytes: lines are hashed as bytes and decoded only when they are parsed."""
        member = self._members[name]
        raw: IO[bytes]
        if self._zip is not None:
            counted = _Counted(self._zip.open(member), self._declared[name], self._budget)
            raw = io.BufferedReader(counted, buffer_size=1 << 16)
        else:
            raw = open(member, "rb")  # noqa: SIM115
        try:
            yield raw
        finally:
            raw.close()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


#: A cell a spreadsheet would run as a formula, after the apostrophes of earlier escapes.
_FORMULA_CELL = re.compile(r"'*[=+\-@\t\r]")


def escape_cell(text: str) -> str:
    """``text`` safe to open in a spreadsheet: one more apostrophe in front where it would be a
    formula (also behind apostrophes, so that ``unescape_cell`` can tell the two apart)."""
    return "'" + text if _FORMULA_CELL.match(text) else text


def unescape_cell(text: str) -> str:
    """What ``escape_cell`` was given."""
    return text[1:] if text.startswith("'") and _FORMULA_CELL.match(text, 1) else text


#: Columns that do not make a new version when they change (stock is the ordering system's).
NOT_VERSIONED = frozenset({"stock_qty"})


# Digests are shifted into the signed range, to fit a 64-bit integer column. Equal digests mean
# equal text, so a row whose digest matches a current version repeats it exactly and need not be
# parsed again: that is what makes a 1% release cheap to import.
_SIGNED = 1 << 63


class _Undecodable(Exception):
    pass


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Undecodable() from None


class _LineTooLong(Exception):
    pass


class _Lines:
    """A file's lines, in chunks of about ``chunk_bytes``; none may be longer than
    ``MAX_LINE_BYTES``. ``readlines`` would hold a line of any length whole: a zip bomb's
    one line of gigabytes."""

    def __init__(self, raw: IO[bytes], chunk_bytes: int) -> None:
        self._raw = raw
        self._size = max(chunk_bytes, 1)
        self._rest = b""
        self._spare: deque[bytes] = deque()

    def chunk(self) -> list[bytes]:
        """The next lines (the file's last may lack a line break); empty at the end."""
        if self._spare:
            lines = list(self._spare)
            self._spare.clear()
            return lines
        while True:
            data = self._raw.read(self._size)
            if not data:
                rest, self._rest = self._rest, b""
                return [rest] if rest else []
            data = self._rest + data
            cut = data.rfind(b"\n") + 1
            self._rest = data[cut:]
            if cut:
                # Split at b"\n" only, as readlines does (bytes.splitlines also splits at \r).
                lines = io.BytesIO(data[:cut]).readlines()
                if cut > MAX_LINE_BYTES and max(map(len, lines)) > MAX_LINE_BYTES:
                    raise _LineTooLong()
                return lines
            if len(self._rest) > MAX_LINE_BYTES:
                raise _LineTooLong()

    def next_line(self) -> bytes | None:
        """One more line, for a record that runs over several."""
        if not self._spare:
            self._spare.extend(self.chunk())
        return self._spare.popleft() if self._spare else None

    def unread(self, lines: list[bytes]) -> None:
        self._spare.extendleft(reversed(lines))


class _Quoted:
    """Reads a record that holds quotes with the csv module, which may take further lines
    (a quoted field can run over several); counts every line it takes."""

    def __init__(self, handle: _Lines) -> None:
        self._handle = handle
        #: Lines already read from the file, to take continuation lines from first.
        self.chunk: Iterator[bytes] = iter(())
        self._pending: bytes | None = None
        self._raw: list[str] = []
        self._reader = csv.reader(self, strict=True)
        self.extra_lines = 0

    def __iter__(self) -> _Quoted:
        return self

    def __next__(self) -> str:
        if self._pending is not None:
            data, self._pending = self._pending, None
        else:
            line = next(self.chunk, None) or self._handle.next_line()
            if line is None:
                raise StopIteration
            data = line
            self.extra_lines += 1
        text = _decode(data)
        self._raw.append(text)
        return text

    def read(self, first: bytes) -> tuple[str, list[str]]:
        """The record's raw text (without the final line break) and its fields."""
        self._pending, self._raw, self.extra_lines = first, [], 0
        fields = next(self._reader)
        return "".join(self._raw).rstrip("\r\n"), fields


CHUNK_BYTES = 1 << 22


def read_rows(
    source: ReleaseSource,
    spec: FileSpec,
    problems: Problems,
    convert: Callable[[dict[str, str], Callable[[str, str], None]], Row | None],
    *,
    unchanged: dict[int, bool] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    drops: set[int] | None = None,
) -> Iterator[tuple[int, int, Row]]:
    """Yield ``(line, digest, row)`` for each good row of one file: :func:`read_batches`, row
    by row."""
    for batch in read_batches(
        source,
        spec,
        problems,
        convert,
        unchanged=unchanged,
        chunk_bytes=chunk_bytes,
        drops=drops,
    ):
        for line, digest, *row in batch:
            yield line, digest, tuple(row)


def read_batches(
    source: ReleaseSource,
    spec: FileSpec,
    problems: Problems,
    convert: Callable[[dict[str, str], Callable[[str, str], None]], Row | None],
    *,
    unchanged: dict[int, bool] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    drops: set[int] | None = None,
) -> Iterator[list[Row]]:
    """Yield lists of ``(line, digest, *row)`` for the good rows of one file, in line order;
    record a problem for each bad row.

    :param unchanged: digests of the current versions, as keys (values ``True``). A row whose
        digest is there is taken out and skipped unparsed; what is left afterwards are the
        versions this release no longer repeats. A dict, not a set: ``pop(digest, None)`` looks
        up and removes in one probe, and runs inside ``map``.
    :param drops: for a delta, where the lines of rows marked ``action=drop`` are added (the
        row is yielded too: its key names what to drop). ``None``: no ``action`` column allowed.
    """
    unchanged = unchanged if unchanged is not None else {}
    if not source.has(spec.name):
        if spec.file_required:
            problems.add(spec.name, None, None, "is missing: every release needs it")
        return
    line = 0
    try:
        with source.open(spec.name) as raw:
            handle = _Lines(raw, chunk_bytes)
            quoted = _Quoted(handle)
            first = handle.next_line()
            if first is None:
                problems.add(spec.name, 1, None, "is empty: expected a header row")
                return
            line = 1
            # Spreadsheets often start a UTF-8 file with a byte-order mark.
            _text, header_fields = quoted.read(first.removeprefix(b"\xef\xbb\xbf"))
            line += quoted.extra_lines
            header = [h.strip() for h in header_fields]
            if ACTION in header and drops is None:
                problems.add(
                    spec.name, 1, ACTION, "only a delta release drops rows (import it as a delta)"
                )
                return
            allowed = spec.columns if drops is None else (*spec.columns, ACTION)
            unknown = [h for h in header if h not in allowed]
            missing = [c for c in spec.required if c not in header]
            for column in unknown:
                problems.add(
                    spec.name,
                    1,
                    column,
                    f"unknown column (expected some of: {', '.join(spec.columns)})",
                )
            for column in missing:
                problems.add(spec.name, 1, column, "required column is missing")
            if missing or unknown:
                return
            width = len(header)
            versioned = [i for i, h in enumerate(header) if h not in NOT_VERSIONED]
            every_column = len(versioned) == width
            seed = xxhash.xxh3_64_intdigest(",".join(header[i] for i in versioned).encode())
            action = header.index(ACTION) if ACTION in header else -1

            picked = itemgetter(*versioned) if len(versioned) > 1 else None

            def versioned_bytes(data: bytes) -> bytes:
                if every_column:
                    return data
                cells = data.split(b",")
                # A short row is parsed and refused; a drop is never taken for a repeat.
                if len(cells) != width or (action >= 0 and cells[action].strip()):
                    return b"\0" + data  # never a current digest
                return b"\x1f".join(picked(cells) if picked else [cells[i] for i in versioned])

            digest_of = xxhash.xxh3_64_intdigest

            def parse(start: int, data: bytes, digest: int | None = None) -> tuple[int, Row] | None:
                """One record that is not a repeat: decode, check, convert. ``digest``: the
                record's, already computed and looked up."""
                nonlocal line
                fields: list[str] | None = None
                try:
                    if digest is not None:
                        data = data.rstrip(b"\r\n")
                    elif b'"' in data:
                        try:
                            text, fields = quoted.read(data)
                        finally:
                            line += quoted.extra_lines
                        data = text.encode()
                        if every_column:
                            versioned_data = data
                        elif len(fields) != width or (action >= 0 and fields[action].strip()):
                            versioned_data = b"\0" + data  # refused, or a drop: never a repeat
                        else:
                            versioned_data = "\x1f".join([fields[i] for i in versioned]).encode()
                    else:
                        data = data.rstrip(b"\r\n")
                        versioned_data = versioned_bytes(data)
                    if digest is None:
                        digest = digest_of(versioned_data, seed) - _SIGNED
                        if unchanged.pop(digest, None) is not None:
                            return None  # repeats a current version exactly
                    if fields is None:
                        fields = _decode(data).split(",")
                except _Undecodable:
                    problems.add(
                        spec.name, start, None, "is not valid UTF-8 text; save the file as UTF-8"
                    )
                    return None
                except csv.Error as exc:
                    # The reader starts afresh with the next record: report this one, go on.
                    problems.add(spec.name, start, None, f"is not well-formed CSV: {exc}")
                    return None
                if len(fields) == 1 and not fields[0].strip():
                    return None  # blank line
                if len(fields) != width:
                    problems.add(
                        spec.name, start, None, f"has {len(fields)} fields, the header has {width}"
                    )
                    return None
                values = dict(zip(header, map(str.strip, fields), strict=True))
                if b"'" in data:
                    # Cells exported by the catalogue may carry a formula escape: undone here.
                    values = {h: unescape_cell(v) for h, v in values.items()}
                report = _RowReport(problems, spec.name, start)
                dropping = _action(values.pop(ACTION, ""), report)
                # A drop names its row by the key alone; other values may be left empty.
                required = spec.numbers if dropping else spec.required
                for column in required:
                    if not values.get(column):
                        report(column, "is required")
                if report.failed:
                    return None
                row = convert(values, report)
                if row is None or report.failed:
                    return None
                if dropping and drops is not None:
                    drops.add(start)
                return digest, row

            # Millions of lines: read in chunks, and where a chunk holds no quotes, hash and look
            # up its lines in maps (the loop runs in C), parsing only the lines that differ.
            pop = unchanged.pop
            make_columnar = _COLUMNAR.get(convert)
            columnar = make_columnar() if make_columnar else None
            while chunk := handle.chunk():
                base = line
                if b'"' not in b"".join(chunk):
                    # One probe of the digests per line, which also takes a repeated one out.
                    keys = map(bytes.rstrip, chunk, repeat(b"\r\n"))
                    if not every_column:
                        keys = map(versioned_bytes, keys)
                    digests = list(map(minus, map(digest_of, keys, repeat(seed)), repeat(_SIGNED)))
                    misses = map(is_, map(pop, digests, repeat(None)), repeat(None))
                    line += len(chunk)
                    wanted = list(compress(count(), misses))
                    if not wanted:
                        continue
                    if columnar is not None:
                        rows = _columnar(
                            chunk, wanted, digests, base, header, spec.required, columnar
                        )
                        if rows is not None:
                            yield rows
                            continue
                    rows = []
                    for index in wanted:
                        parsed = parse(base + index + 1, chunk[index], digests[index])
                        if parsed is not None:
                            rows.append((base + index + 1, parsed[0], *parsed[1]))
                    yield rows
                    continue
                # Quotes: a record may run over several lines, so one line at a time.
                lines = iter(chunk)
                quoted.chunk = lines
                rows = []
                for data in lines:
                    line += 1
                    start = line
                    parsed = parse(start, data)  # moves ``line`` past a record's extra lines
                    if parsed is not None:
                        rows.append((start, parsed[0], *parsed[1]))
                yield rows
    except _Undecodable:
        problems.add(
            spec.name, max(line, 1), None, "is not valid UTF-8 text; save the file as UTF-8"
        )
    except csv.Error as exc:
        problems.add(spec.name, max(line, 1), None, f"is not well-formed CSV: {exc}")
    except _LineTooLong:
        problems.add(
            spec.name,
            line + 1,
            None,
            f"has a line longer than {MAX_LINE_BYTES:,} bytes; nothing after it was read",
        )
    except _ArchiveOverrun:
        problems.add(
            spec.name,
            None,
            None,
            "unpacks to more than the archive's directory says, or past the limit; "
            "the archive is damaged or forged, nothing more was read",
        )
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        problems.add(spec.name, None, None, f"is damaged in the archive ({exc})")


def _action(text: str, report: Callable[[str, str], None]) -> bool:
    """Whether a delta's row is a drop."""
    if text.lower() == DROP:
        return True
    if text:
        report(ACTION, f"{text!r} is not one of {DROP} (or empty: add or change)")
    return False


class _RowReport:
    """Reports problems of one row and remembers whether there were any."""

    def __init__(self, problems: Problems, file: str, line: int) -> None:
        self._problems = problems
        self._file = file
        self._line = line
        self.failed = False

    def __call__(self, column: str, message: str) -> None:
        self.failed = True
        self._problems.add(self._file, self._line, column, message)


# --- converters: one row's values to a typed tuple, reporting what is wrong ------------------


def _number(values: dict[str, str], column: str, report: Callable[[str, str], None]) -> str | None:
    """The number's normal form; its spelling in ``values`` gets plain dashes."""
    text = values[column] = plain_dashes(values.get(column, ""))
    if "\x00" in text:
        report(column, "contains a NUL character")
        return None
    if text.startswith(FORMULA_STARTS):  # ``starts_a_formula``, its dashes already plain
        report(
            column,
            f"{text!r} starts with {text[0]!r}, which spreadsheets run as a formula; "
            "a number may not start with = + - @",
        )
        return None
    norm = normalise(text)
    if not norm:
        report(column, f"{text!r} is not a number")
        return None
    if len(text) > 40:
        report(column, "is longer than 40 characters")
        return None
    if len(norm) > 40:  # upper case can be longer: "ß" is "SS"
        report(column, "is longer than 40 characters once upper-cased")
        return None
    return norm


def _text(
    values: dict[str, str], column: str, report: Callable[[str, str], None], limit: int
) -> str | None:
    text = values.get(column) or None
    if text is None:
        return None
    if "\x00" in text:
        report(column, "contains a NUL character")
        return None
    if len(text) > limit:
        report(column, f"is longer than {limit} characters")
        return None
    return text


def _decimal(
    values: dict[str, str], column: str, report: Callable[[str, str], None]
) -> Decimal | None:
    text = values.get(column, "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        report(column, f"{text!r} is not a number")
        return None
    # Compared once rounded to cents too: 9999999999.995 rounds to 10 digits before the point.
    if (
        not value.is_finite()
        or value < 0
        or value >= Decimal("1e10")
        or value.quantize(CENT) >= Decimal("1e10")
    ):
        report(column, f"{text!r} is not an amount between 0 and 9,999,999,999.99")
        return None
    return value.quantize(CENT)


def _int(
    values: dict[str, str],
    column: str,
    report: Callable[[str, str], None],
    *,
    minimum: int,
    default: int | None,
) -> int | None:
    text = values.get(column, "")
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or not minimum <= int(text) <= 2_000_000_000:
        report(column, f"{text!r} is not a whole number of at least {minimum}")
        return None
    return int(text)


def _date(values: dict[str, str], column: str, report: Callable[[str, str], None]) -> date | None:
    text = values.get(column, "")
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        report(column, f"{text!r} is not a date (use YYYY-MM-DD)")
        return None


def _choice(
    values: dict[str, str],
    column: str,
    report: Callable[[str, str], None],
    choices: tuple[str, ...],
    default: str,
) -> str | None:
    text = values.get(column, "").lower()
    if not text:
        return default
    if text not in choices:
        report(column, f"{values[column]!r} is not one of {', '.join(choices)}")
        return None
    return text


def _serials(
    values: dict[str, str], report: Callable[[str, str], None]
) -> tuple[str | None, str | None] | None:
    serial_from = _text(values, "serial_from", report, 40)
    serial_to = _text(values, "serial_to", report, 40)
    if serial_from and serial_to and compare_serials(serial_from, serial_to) > 0:
        report("serial_to", f"{serial_to} comes before serial_from {serial_from}")
        return None
    return serial_from, serial_to


def convert_part(values: dict[str, str], report: Callable[[str, str], None]) -> Row | None:
    """Return ``(number_norm, number, description, category, unit_price, currency, status,
    stock_qty, safety_critical)``."""
    norm = _number(values, "part_number", report)
    description = _text(values, "description", report, 255)
    category = _text(values, "category", report, 80)
    price = _decimal(values, "unit_price", report)
    currency = values.get("currency", "").upper() or None
    if currency is not None and (len(currency) != 3 or not currency.isalpha()):
        report("currency", f"{values['currency']!r} is not a three-letter currency code")
    status = _choice(values, "status", report, PART_STATUSES, "active")
    stock = _int(values, "stock_qty", report, minimum=0, default=None)
    safety = _choice(values, "safety_critical", report, ("yes", "no"), "no")
    return (
        norm,
        values["part_number"],
        description,
        category,
        price,
        currency,
        status,
        stock,
        safety == "yes",
    )


def convert_model(values: dict[str, str], report: Callable[[str, str], None]) -> Row | None:
    """Return ``(number_norm, number, name, product_line, chassis, released_on, support_ends_on,
    exchange_value)``."""
    norm = _number(values, "model_number", report)
    row = (
        norm,
        values["model_number"],
        _text(values, "name", report, 255),
        _text(values, "product_line", report, 40),
        _text(values, "chassis", report, 40),
        _date(values, "released_on", report),
        _date(values, "support_ends_on", report),
        _decimal(values, "exchange_value", report),
    )
    return row


def convert_fitment(values: dict[str, str], report: Callable[[str, str], None]) -> Row | None:
    """Return ``(model_norm, part_norm, model_number, part_number, ref_no, diagram, quantity,
    serial_from, serial_to)``."""
    model = _number(values, "model_number", report)
    part = _number(values, "part_number", report)
    ref_no = _text(values, "ref_no", report, 20)
    diagram = _text(values, "diagram", report, 80)
    quantity = _int(values, "quantity", report, minimum=1, default=1)
    serials = _serials(values, report)
    if serials is None:
        return None
    return (
        model,
        part,
        values["model_number"],
        values["part_number"],
        ref_no,
        diagram,
        quantity,
        *serials,
    )


def convert_supersession(values: dict[str, str], report: Callable[[str, str], None]) -> Row | None:
    """Return ``(old_norm, new_norm, old_number, new_number, quantity, interchangeability,
    effective_on, serial_from, serial_to, note)``."""
    old = _number(values, "old_part_number", report)
    new = _number(values, "new_part_number", report)
    if old is not None and old == new:
        report("new_part_number", f"{values['new_part_number']} cannot replace itself")
    quantity = _int(values, "quantity", report, minimum=1, default=1)
    kind = _choice(values, "interchangeability", report, INTERCHANGEABILITY, ONE_WAY)
    effective_on = _date(values, "effective_on", report)
    serials = _serials(values, report)
    note = _text(values, "note", report, 2000)
    if kind == "conditional" and not note:
        report("note", "a conditional supersession needs a note saying under what condition")
    if serials is None:
        return None
    return (
        old,
        new,
        values["old_part_number"],
        values["new_part_number"],
        quantity,
        kind,
        effective_on,
        *serials,
        note,
    )


# --- the columnar way: a batch of plain rows converted column by column ---------------------------
#
# Most rows of a release are plain: ASCII numbers, no quotes, no apostrophes, nothing wrong. A
# batch of them is split and converted a column at a time, with maps and joins that run in C,
# instead of a dict, a report and a dozen calls per row (a tenth of the time). The converters
# above stay the definition: a column is only accepted where every value is one they take
# without a report and give the same value for; anything else (a bad value, a drop, a quote, an
# apostrophe, a line that does not decode) sends the whole batch through them row by row, which
# reports every problem with its line and column as before.


class _Slow(Exception):
    """The batch holds a value the columnar way does not vouch for."""


def _refuse(_column: str, _message: str) -> None:
    raise _Slow()


class _Memo(dict[str, Any]):
    """One column's conversion, by the text of the cell: prices, dates and choices repeat.
    Kept small; the conversion is a pure function of the text, so a hit is always right."""

    def __init__(self, convert: Callable[[str], Any]) -> None:
        super().__init__()
        self._convert = convert

    def __missing__(self, text: str) -> Any:
        if len(self) >= 65536:
            self.clear()
        value = self[text] = self._convert(text)
        return value


def _memo_of(
    helper: Callable[..., Any], *args: Any, **kwargs: Any
) -> Callable[[Sequence[str]], list[Any]]:
    """A column converter from one of the row converters' helpers, refusing what it reports."""
    memo = _Memo(lambda text: helper({"": text}, "", _refuse, *args, **kwargs))
    get = memo.__getitem__
    return lambda column: list(map(get, column))


def _currency(text: str) -> str | None:
    currency = text.upper() or None
    if currency is not None and (len(currency) != 3 or not currency.isalpha()):
        raise _Slow()
    return currency


def _numbers(column: Sequence[str]) -> list[str]:
    """Normal forms of a column of numbers, each as ``_number`` gives it without a report."""
    joined = ",".join(column)
    if (
        not joined.isascii()  # ``plain_dashes`` then changes nothing; ``normalise`` is bytewise
        or "\x00" in joined
        or not all(column)
        or max(map(len, column)) > 40
        or any(map(str.startswith, column, repeat(FORMULA_STARTS)))
    ):
        raise _Slow()
    # One pass over the column: "," is not a separator, and no cell holds one.
    norms = normalise(joined).split(",")
    if not all(norms):
        raise _Slow()
    return norms


def _texts(column: Sequence[str], limit: int) -> Sequence[str | None]:
    """A column of optional text, as ``_text`` gives it without a report."""
    if "\x00" in "".join(column) or max(map(len, column)) > limit:
        raise _Slow()
    return column if all(column) else [text or None for text in column]


def _serial_ranges(
    column: Callable[[str], Sequence[str]],
) -> tuple[Sequence[str | None], Sequence[str | None]]:
    serial_from = _texts(column("serial_from"), 40)
    serial_to = _texts(column("serial_to"), 40)
    if any(serial_from) and any(serial_to):
        for low, high in zip(serial_from, serial_to, strict=True):
            if low and high and compare_serials(low, high) > 0:
                raise _Slow()
    return serial_from, serial_to


Columns = Callable[[Callable[[str], Sequence[str]]], list[Sequence[Any]]]


def _part_columns() -> Columns:
    price = _memo_of(_decimal)
    currency = _Memo(_currency).__getitem__
    status = _memo_of(_choice, PART_STATUSES, "active")
    stock = _memo_of(_int, minimum=0, default=None)
    safety = _memo_of(_choice, ("yes", "no"), "no")

    def columns(column: Callable[[str], Sequence[str]]) -> list[Sequence[Any]]:
        number = column("part_number")
        return [
            _numbers(number),
            number,
            _texts(column("description"), 255),
            _texts(column("category"), 80),
            price(column("unit_price")),
            list(map(currency, column("currency"))),
            status(column("status")),
            stock(column("stock_qty")),
            [flag == "yes" for flag in safety(column("safety_critical"))],
        ]

    return columns


def _model_columns() -> Columns:
    released_on = _memo_of(_date)
    support_ends_on = _memo_of(_date)
    exchange_value = _memo_of(_decimal)

    def columns(column: Callable[[str], Sequence[str]]) -> list[Sequence[Any]]:
        number = column("model_number")
        return [
            _numbers(number),
            number,
            _texts(column("name"), 255),
            _texts(column("product_line"), 40),
            _texts(column("chassis"), 40),
            released_on(column("released_on")),
            support_ends_on(column("support_ends_on")),
            exchange_value(column("exchange_value")),
        ]

    return columns


def _fitment_columns() -> Columns:
    quantity = _memo_of(_int, minimum=1, default=1)

    def columns(column: Callable[[str], Sequence[str]]) -> list[Sequence[Any]]:
        model, part = column("model_number"), column("part_number")
        return [
            _numbers(model),
            _numbers(part),
            model,
            part,
            _texts(column("ref_no"), 20),
            _texts(column("diagram"), 80),
            quantity(column("quantity")),
            *_serial_ranges(column),
        ]

    return columns


def _supersession_columns() -> Columns:
    quantity = _memo_of(_int, minimum=1, default=1)
    kind = _memo_of(_choice, INTERCHANGEABILITY, ONE_WAY)
    effective_on = _memo_of(_date)

    def columns(column: Callable[[str], Sequence[str]]) -> list[Sequence[Any]]:
        old, new = column("old_part_number"), column("new_part_number")
        old_norms, new_norms = _numbers(old), _numbers(new)
        if any(map(eq, old_norms, new_norms)):
            raise _Slow()  # a part replacing itself
        kinds = kind(column("interchangeability"))
        notes = _texts(column("note"), 2000)
        if "conditional" in kinds and any(
            k == "conditional" and not note for k, note in zip(kinds, notes, strict=True)
        ):
            raise _Slow()
        return [
            old_norms,
            new_norms,
            old,
            new,
            quantity(column("quantity")),
            kinds,
            effective_on(column("effective_on")),
            *_serial_ranges(column),
            notes,
        ]

    return columns


_COLUMNAR: dict[Callable[..., Row | None], Callable[[], Columns]] = {
    convert_part: _part_columns,
    convert_model: _model_columns,
    convert_fitment: _fitment_columns,
    convert_supersession: _supersession_columns,
}


def _columnar(
    chunk: list[bytes],
    picked: list[int],
    digests: list[int],
    base: int,
    header: list[str],
    required: tuple[str, ...],
    columns: Columns,
) -> list[Row] | None:
    """``(line, digest, *row)`` of the lines ``picked`` from ``chunk``, converted column by
    column; None when any of them must go row by row."""
    data = b"\n".join(map(bytes.rstrip, map(chunk.__getitem__, picked), repeat(b"\r\n")))
    if b"'" in data:
        return None  # a formula escape to undo, cell by cell
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.split("\n")
    width = len(header)
    # Every line of the batch has the header's width (blank lines and short rows go row by
    # row): then the batch's cells, split at once, are its columns side by side.
    commas = list(map(str.count, lines, repeat(",")))
    if min(commas) != width - 1 or max(commas) != width - 1:
        return None
    cells = ",".join(lines).split(",")
    by_name = {name: list(map(str.strip, cells[i::width])) for i, name in enumerate(header)}
    if any(by_name.get(ACTION, ())) or not all(map(all, map(by_name.__getitem__, required))):
        return None  # a delta's drop, or a required value left out
    absent = ("",) * len(picked)
    try:
        converted = columns(lambda name: by_name.get(name, absent))
    except _Slow:
        return None
    numbered = map(add, picked, repeat(base + 1))
    return list(zip(numbered, map(digests.__getitem__, picked), *converted, strict=False))
