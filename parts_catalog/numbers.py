"""Part and model numbers in normal form.

Catalogues, service manuals and technicians spell one number many ways: ``1-474-594-11``,
``1474594-11`` and ``1474 59411`` are one part. The normal form drops spaces, dashes, dots and
slashes and upper-cases the rest; numbers are matched in normal form and shown as spelled.
"""

from __future__ import annotations

from string import ascii_lowercase, ascii_uppercase

#: Characters people (and word processors) type for a dash: hyphen, non-breaking hyphen, figure
#: dash, en and em dash, horizontal bar, minus sign, small and full-width hyphen-minus.
LOOK_ALIKE_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
#: What makes a spreadsheet cell a formula (or, after a tab or return, may): such a number would
#: run as one wherever the catalogue is exported or pasted. Look-alike dashes count as "-".
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff20")

# str.translate runs in C: an import normalises millions of numbers.
_SEPARATORS = str.maketrans(
    "", "", " \t\n\r\f\v\u00a0\u2007\u2009\u202f\u3000-./" + LOOK_ALIKE_DASHES
)
_DASHES = str.maketrans(dict.fromkeys(LOOK_ALIKE_DASHES, "-"))
# Most numbers are ASCII, where bytes.translate (a 256-byte table) is several times quicker than
# str.translate (a dict looked up per character), and upper-cases in the same pass.
_ASCII_UPPER = bytes.maketrans(ascii_lowercase.encode(), ascii_uppercase.encode())
_ASCII_SEPARATORS = b" \t\n\r\f\v-./"


def normalise(number: str) -> str:
    """The normal form of a part or model number (empty when nothing but separators remain)."""
    if number.isascii():
        return number.encode().translate(_ASCII_UPPER, _ASCII_SEPARATORS).decode()
    return number.translate(_SEPARATORS).upper()


def plain_dashes(number: str) -> str:
    """``number`` spelled with ``-`` for every look-alike dash."""
    return number if number.isascii() else number.translate(_DASHES)


def starts_a_formula(number: str) -> bool:
    """Whether a spreadsheet would take ``number`` (look-alike dashes as ``-``) for a formula."""
    return plain_dashes(number).startswith(FORMULA_STARTS)


def serial_in_range(serial: str, serial_from: str | None, serial_to: str | None) -> bool:
    """Whether ``serial`` lies in the inclusive range; an open end admits everything.

    Serials compare as numbers when both are digits, else as text.
    """
    if serial_from and compare_serials(serial, serial_from) < 0:
        return False
    return not (serial_to and compare_serials(serial, serial_to) > 0)


def compare_serials(a: str, b: str) -> int:
    """-1, 0 or 1, as numbers when both serials are digits, else as upper-cased text."""
    a, b = a.strip(), b.strip()
    if _digits(a) and _digits(b):
        return (int(a) > int(b)) - (int(a) < int(b))
    a, b = a.upper(), b.upper()
    return (a > b) - (a < b)


def _digits(text: str) -> bool:
    # str.isdigit() is also true for "²", which int() refuses.
    return text.isascii() and text.isdigit()


def describe_serial_range(serial_from: str | None, serial_to: str | None) -> str | None:
    """Plain words for a serial range: "serials 4012345 and later"."""
    if serial_from and serial_to:
        return f"serials {serial_from} to {serial_to}"
    if serial_from:
        return f"serials {serial_from} and later"
    if serial_to:
        return f"serials up to {serial_to}"
    return None
