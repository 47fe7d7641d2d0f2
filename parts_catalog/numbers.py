"""Part and model numbers in normal form.

Catalogues, service manuals and technicians spell one number many ways: ``1-474-594-11``,
``1474594-11`` and ``1474 59411`` are one part. The normal form drops spaces, dashes, dots and
slashes and upper-cases the rest; numbers are matched in normal form and shown as spelled.
"""

from __future__ import annotations

# str.translate runs in C: an import normalises millions of numbers.
_SEPARATORS = str.maketrans("", "", " \t\n\r\f\v\u00a0\u2007\u2009\u202f\u3000-./")


def normalise(number: str) -> str:
    """The normal form of a part or model number (empty when nothing but separators remain)."""
    return number.translate(_SEPARATORS).upper()


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
