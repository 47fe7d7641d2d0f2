"""One row of a release file, checked on its own: any text is either refused with a problem or
turned into values that fit the columns they are stored in (on PostgreSQL a value that does not
fit fails the whole import with a database error instead of a report naming file, line and
column)."""

from __future__ import annotations

import string
import tempfile
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import Boolean, Date, Integer, Numeric, String, Table

from parts_catalog.importer import stage_fitments, stage_models, stage_parts, stage_supersessions
from parts_catalog.release_files import (
    FITMENTS,
    MODELS,
    PARTS,
    SUPERSESSIONS,
    FileSpec,
    Problems,
    ReleaseSource,
    Row,
    convert_fitment,
    convert_model,
    convert_part,
    convert_supersession,
    read_batches,
)
from tests.properties.budget import PURE

#: Text as it reaches a converter: a CSV field, stripped.
field = st.text(max_size=60).map(str.strip)
numberish = st.text(
    st.sampled_from(string.ascii_letters + string.digits + " -./ßﬃŉ"), min_size=1, max_size=45
).map(str.strip)
amount = st.decimals(allow_nan=True, allow_infinity=True, places=None).map(str) | st.decimals(
    min_value=Decimal("9999999999.9"), max_value=Decimal("10000000000"), places=4
).map(str)
whole = st.integers(min_value=-10, max_value=2**40).map(str)
day = st.dates().map(date.isoformat)

COLUMN_VALUES: dict[str, st.SearchStrategy[str]] = {
    "part_number": numberish,
    "model_number": numberish,
    "old_part_number": numberish,
    "new_part_number": numberish,
    "unit_price": amount,
    "exchange_value": amount,
    "stock_qty": whole,
    "quantity": whole,
    "released_on": day,
    "support_ends_on": day,
    "effective_on": day,
    "serial_from": whole | numberish,
    "serial_to": whole | numberish,
    "currency": st.text(max_size=4),
    "status": st.sampled_from(["active", "NLA", "Discontinued", "gone"]),
    "safety_critical": st.sampled_from(["yes", "no", "YES", "maybe"]),
    "interchangeability": st.sampled_from(["one_way", "two_way", "conditional", "Two_Way", "x"]),
}


def rows(spec: FileSpec) -> st.SearchStrategy[dict[str, str]]:
    """Values for every column of ``spec``: mostly plausible, sometimes any text, or empty."""
    return st.fixed_dictionaries(
        {column: st.just("") | field | COLUMN_VALUES.get(column, field) for column in spec.columns}
    )


def convert(
    converter: Callable[[dict[str, str], Callable[[str, str], None]], Row | None],
    values: dict[str, str],
) -> tuple[Row | None, list[tuple[str, str]]]:
    reported: list[tuple[str, str]] = []
    row = converter(values, lambda column, message: reported.append((column, message)))
    return row, reported


def assert_fits(row: Row, stage: Table) -> None:
    """Each value fits its staging column (which has the versions' types)."""
    columns = [
        c for c in stage.columns if c.name not in ("line", "digest", "dropped", "has_current")
    ]
    assert len(row) == len(columns)
    for value, column in zip(row, columns, strict=True):
        if value is None:
            continue
        kind: Any = column.type
        where = f"{stage.name}.{column.name} = {value!r}"
        if isinstance(kind, String):
            assert isinstance(value, str), where
            assert "\x00" not in value, where
            if kind.length is not None:
                assert len(value) <= kind.length, where
        elif isinstance(kind, Numeric):
            assert isinstance(value, Decimal), where
            assert value.is_finite(), where
            _sign, digits, exponent = value.as_tuple()
            assert isinstance(exponent, int)
            assert -exponent <= kind.scale, where
            assert len(digits) + min(exponent, 0) <= kind.precision - kind.scale, where
        elif isinstance(kind, Boolean):
            assert isinstance(value, bool), where
        elif isinstance(kind, Integer):
            assert isinstance(value, int), where
            assert -(2**31) <= value < 2**31, where
        elif isinstance(kind, Date):
            assert isinstance(value, date), where


@PURE
@given(rows(PARTS))
@example({**dict.fromkeys(PARTS.columns, ""), "part_number": "ß" * 40, "description": "X"})
@example(
    {
        **dict.fromkeys(PARTS.columns, ""),
        "part_number": "1",
        "description": "X",
        "unit_price": "9999999999.999",
    }
)
def test_an_accepted_part_fits_its_columns(values: dict[str, str]) -> None:
    row, reported = convert(convert_part, values)
    if not reported:
        assert row is not None
        assert_fits(row, stage_parts)
        assert row[0]  # a normal form


@PURE
@given(rows(MODELS))
@example({**dict.fromkeys(MODELS.columns, ""), "model_number": "ﬃ" * 20})
def test_an_accepted_model_fits_its_columns(values: dict[str, str]) -> None:
    row, reported = convert(convert_model, values)
    if not reported:
        assert row is not None
        assert_fits(row, stage_models)


@PURE
@given(rows(FITMENTS))
def test_an_accepted_fitment_fits_its_columns(values: dict[str, str]) -> None:
    row, reported = convert(convert_fitment, values)
    if not reported:
        assert row is not None
        assert_fits(row, stage_fitments)


@PURE
@given(rows(SUPERSESSIONS))
def test_an_accepted_supersession_fits_its_columns(values: dict[str, str]) -> None:
    row, reported = convert(convert_supersession, values)
    if not reported:
        assert row is not None
        assert_fits(row, stage_supersessions)
        old, new = row[0], row[1]
        assert old != new  # a part never replaces itself
        if row[5] == "conditional":
            assert row[-1]  # the note the user must confirm


@PURE
@given(st.sampled_from([PARTS, MODELS, FITMENTS, SUPERSESSIONS]), st.data())
def test_every_problem_names_a_column_of_the_file(spec: FileSpec, data: st.DataObject) -> None:
    converter = {
        PARTS: convert_part,
        MODELS: convert_model,
        FITMENTS: convert_fitment,
        SUPERSESSIONS: convert_supersession,
    }[spec]
    _row, reported = convert(converter, data.draw(rows(spec)))
    for column, message in reported:
        assert column in spec.columns
        assert message


#: Characters that make a line go row by row whatever its values (quotes, formula escapes, line
#: breaks) or that split a cell: left out, so that batches of plain rows are read column by column.
_NOT_PLAIN = str.maketrans("", "", ",\"'\n\r")


@PURE
@given(st.sampled_from([PARTS, MODELS, FITMENTS, SUPERSESSIONS]), st.data())
def test_batches_read_column_by_column_give_what_the_converters_give(
    spec: FileSpec, data: st.DataObject
) -> None:
    """A file's rows, read a batch at a time, are the converters' rows for each line, and its
    problems theirs, line by line (with the required values reported first, as the reader
    does)."""
    converter = {
        PARTS: convert_part,
        MODELS: convert_model,
        FITMENTS: convert_fitment,
        SUPERSESSIONS: convert_supersession,
    }[spec]
    plain = rows(spec).map(lambda r: {c: v.translate(_NOT_PLAIN).strip() for c, v in r.items()})
    # Mostly good rows (each batch of them is converted column by column), now and then any.
    values = data.draw(
        st.lists(good_rows(spec), min_size=1, max_size=12)
        | st.lists(st.one_of(plain, good_rows(spec)), min_size=1, max_size=12)
    )
    expected_rows: list[tuple[Any, ...]] = []
    expected_problems: list[tuple[int | None, str | None, str]] = []
    for line, row_values in enumerate(values, start=2):
        missing = [c for c in spec.required if not row_values[c]]
        if missing:
            expected_problems += [(line, c, "is required") for c in missing]
            continue
        row, reported = convert(converter, dict(row_values))
        expected_problems += [(line, column, message) for column, message in reported]
        if not reported:
            assert row is not None
            expected_rows.append((line, *row))
    with tempfile.TemporaryDirectory() as folder:
        text = "\n".join(",".join(v[c] for c in spec.columns) for v in [header(spec), *values])
        (Path(folder) / spec.name).write_text(text + "\n", encoding="utf-8")
        problems = Problems()
        source = ReleaseSource(Path(folder), problems)
        batches = list(read_batches(source, spec, problems, converter))
    assert [(row[0], *row[2:]) for batch in batches for row in batch] == expected_rows
    assert [(p.line, p.column, p.message) for p in problems.all()] == expected_problems


def header(spec: FileSpec) -> dict[str, str]:
    return {c: c for c in spec.columns}


def good_rows(spec: FileSpec) -> st.SearchStrategy[dict[str, str]]:
    """Rows every converter takes: plain numbers, the rest empty or plausible."""
    number = st.from_regex(r"[A-Z0-9]{1,6}(-[A-Z0-9]{1,6}){0,3}", fullmatch=True)
    plausible: dict[str, st.SearchStrategy[str]] = {
        "unit_price": st.sampled_from(["", "1.00", "12.5", "0"]),
        "exchange_value": st.sampled_from(["", "100.00"]),
        "stock_qty": st.sampled_from(["", "0", "12"]),
        "quantity": st.sampled_from(["", "1", "3"]),
        "released_on": st.sampled_from(["", "2020-01-01"]),
        "support_ends_on": st.sampled_from(["", "2030-12-31"]),
        "effective_on": st.sampled_from(["", "2025-01-01"]),
        "currency": st.sampled_from(["", "EUR", "usd"]),
        "status": st.sampled_from(["", "active", "NLA"]),
        "safety_critical": st.sampled_from(["", "yes", "No"]),
        "interchangeability": st.sampled_from(["", "one_way", "Two_Way"]),
        "serial_from": st.sampled_from(["", "100", "A5"]),
        "serial_to": st.sampled_from(["", "900", "Z9"]),
    }
    return st.fixed_dictionaries(
        {
            c: number
            if c.endswith("_number")
            else plausible.get(c, st.sampled_from(["", "Power board"]))
            for c in spec.columns
        }
    )
