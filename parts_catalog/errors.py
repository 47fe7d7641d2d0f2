"""What can go wrong in the catalogue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class CatalogError(Exception):
    """Base of the catalogue's errors; ``str(exc)`` is fit to show."""


class UnknownRelease(CatalogError):
    def __init__(self, label: str) -> None:
        self.label = label
        super().__init__(f"There is no release {label!r}.")


class NoReleases(CatalogError):
    def __init__(self) -> None:
        super().__init__("The catalogue is empty: no release has been imported yet.")


class UnknownPart(CatalogError):
    def __init__(self, number: str) -> None:
        self.number = number
        super().__init__(f"Part {number} is not in the catalogue.")


class UnknownModel(CatalogError):
    def __init__(self, number: str) -> None:
        self.number = number
        super().__init__(f"Model {number} is not in the catalogue.")


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a release file; ``line`` counts from 1 (the header)."""

    file: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        if not self.file:
            return self.message
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        if self.column:
            where += f" [{self.column}]"
        return f"{where}: {self.message}"


class InvalidRelease(CatalogError):
    """The release was refused; nothing was applied. ``problems`` lists every one found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        super().__init__(f"The release has {count} problem{'s' if count != 1 else ''}.")


class TooManyDrops(InvalidRelease):
    """A snapshot would delist more than the share of listed parts allowed unconfirmed."""

    def __init__(self, *, dropping: int, listed: int, share: float) -> None:
        self.dropping = dropping
        self.listed = listed
        self.share = share
        super().__init__(
            [
                Problem(
                    "parts.csv",
                    None,
                    None,
                    f"would delist {dropping:,} of the {listed:,} parts listed now "
                    f"({dropping / listed:.0%}; more than {share:.0%} needs confirming). "
                    "A release that changes only some parts is a delta.",
                )
            ]
        )
