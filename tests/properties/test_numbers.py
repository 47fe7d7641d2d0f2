"""Part and model numbers in normal form, and serial ranges: properties over any text.

The contract (DESIGN.md, parts_catalog/numbers.py): numbers match in normal form, upper case with
spaces, dashes, dots and slashes removed, so ``1-474-594-11``, ``1474594-11`` and ``1474 59411``
are one part.
"""

from __future__ import annotations

import string

from hypothesis import example, given
from hypothesis import strategies as st

from parts_catalog.numbers import (
    _DASHES,
    _SEPARATORS,
    compare_serials,
    describe_serial_range,
    normalise,
    plain_dashes,
    serial_in_range,
)
from tests.properties.budget import PURE

#: What the design notes call separators, and the other white space the code also drops.
SEPARATORS = " -./"
SPACES = "\t\n\r\f\v\u00a0\u2007\u2009\u202f\u3000"

separator = st.sampled_from(SEPARATORS + SPACES)
ascii_alnum = st.sampled_from(string.ascii_letters + string.digits)
#: A number as the catalogue writes it: letters and digits, upper case, nothing else.
normal_number = st.text(st.sampled_from(string.ascii_uppercase + string.digits), min_size=1)


@st.composite
def spellings(draw: st.DrawFn, number: str) -> str:
    """One way a person might spell ``number``: any letter's case flipped, any run of
    separators before, between or after its characters."""
    out = []
    for char in number:
        out.append(draw(st.text(separator, max_size=2)))
        out.append(char.lower() if draw(st.booleans()) else char)
    out.append(draw(st.text(separator, max_size=2)))
    return "".join(out)


@PURE
@given(st.text())
@example("1-474-594-11")
@example("ß")  # upper-cases to two letters
def test_normalising_twice_changes_nothing(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


def test_the_design_notes_spellings_are_one_part() -> None:
    for spelled in ("1-474-594-11", "1474594-11", "1474 59411", "1.474.594/11"):
        assert normalise(spelled) == "147459411"


@PURE
@given(st.data(), normal_number)
def test_every_spelling_of_a_number_has_its_normal_form(data: st.DataObject, number: str) -> None:
    first, second = data.draw(spellings(number)), data.draw(spellings(number))
    assert normalise(first) == normalise(second) == number


@PURE
@given(normal_number)
def test_a_normal_form_is_its_own_normal_form(number: str) -> None:
    assert normalise(number) == number


@PURE
@given(st.text(), st.text(separator, min_size=1), st.text())
def test_separators_anywhere_are_ignored(before: str, seps: str, after: str) -> None:
    assert normalise(before + seps + after) == normalise(before + after)


@PURE
@given(st.text(), st.text())
def test_normal_forms_concatenate(a: str, b: str) -> None:
    # Nothing depends on context: a number's halves normalise on their own.
    assert normalise(a + b) == normalise(a) + normalise(b)


@PURE
@given(st.text())
def test_a_normal_form_holds_no_separator_and_no_small_letter(text: str) -> None:
    norm = normalise(text)
    assert not set(norm) & set(SEPARATORS + SPACES)
    assert norm == norm.upper()


@PURE
@given(st.text(separator))
def test_nothing_but_separators_is_empty(text: str) -> None:
    assert normalise(text) == ""


@PURE
@given(st.text(ascii_alnum | separator))
def test_case_never_matters_for_letters_and_digits(text: str) -> None:
    assert normalise(text.lower()) == normalise(text.upper()) == normalise(text)


@PURE
@given(st.text())
def test_upper_casing_first_changes_nothing(text: str) -> None:
    assert normalise(text.upper()) == normalise(text)


@PURE
@given(st.lists(normal_number, min_size=2, max_size=5, unique=True), st.data())
def test_different_numbers_stay_different_however_spelled(
    numbers: list[str], data: st.DataObject
) -> None:
    spelled = [data.draw(spellings(n)) for n in numbers]
    assert len({normalise(s) for s in spelled}) == len(numbers)


# --- serials ---------------------------------------------------------------------------------

digits = st.integers(min_value=0, max_value=10**12).map(str)
serial = digits | st.text(st.sampled_from(string.ascii_letters + string.digits), min_size=1)


@PURE
@given(serial, serial)
def test_comparing_serials_is_antisymmetric(a: str, b: str) -> None:
    assert compare_serials(a, b) == -compare_serials(b, a)
    assert compare_serials(a, a) == 0


@PURE
@given(st.integers(0, 10**12), st.integers(0, 10**12), st.integers(0, 3))
def test_digit_serials_compare_as_numbers(a: int, b: int, zeros: int) -> None:
    padded = "0" * zeros + str(a)
    assert compare_serials(padded, str(b)) == (a > b) - (a < b)


@PURE
@given(serial, st.none() | serial, st.none() | serial)
def test_a_serial_is_in_a_range_exactly_when_between_its_ends(
    value: str, low: str | None, high: str | None
) -> None:
    inside = serial_in_range(value, low, high)
    expected = (low is None or compare_serials(value, low) >= 0) and (
        high is None or compare_serials(value, high) <= 0
    )
    assert inside == expected
    if low is None and high is None:
        assert inside
    # A range's own ends are in it.
    if low is not None and (high is None or compare_serials(low, high) <= 0):
        assert serial_in_range(low, low, high)


@PURE
@given(st.none() | serial, st.none() | serial)
def test_a_serial_range_is_described_by_its_ends(low: str | None, high: str | None) -> None:
    words = describe_serial_range(low, high)
    if low is None and high is None:
        assert words is None
    else:
        assert words is not None
        assert all(end in words for end in (low, high) if end)


@PURE
@given(st.text(st.characters(max_codepoint=127)) | st.text())
@example("ab c.d/e-f\tg\x0bh\x0ci")
def test_the_quick_ascii_path_normalises_as_the_general_one(text: str) -> None:
    assert normalise(text) == text.translate(_SEPARATORS).upper()
    assert plain_dashes(text) == text.translate(_DASHES)
