"""What can go wrong in diagnostics; ``str(exc)`` is fit to show."""

from __future__ import annotations

from collections.abc import Sequence

from diagnostics.trees import Problem


class DiagnosticsError(Exception):
    """Base of the package's errors."""


class InvalidTree(DiagnosticsError):
    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        super().__init__(f"The tree has {count} problem{'s' if count != 1 else ''}.")


class UnknownTree(DiagnosticsError):
    def __init__(self, tree_id: str, revision: int | None = None) -> None:
        self.tree_id = tree_id
        what = f"revision {revision} of tree" if revision is not None else "tree"
        super().__init__(f"There is no {what} “{tree_id}”.")


class NoTreeFound(DiagnosticsError):
    """No published tree answers a code or symptom for a model."""


class InvalidAnswer(DiagnosticsError):
    """An answer that does not fit the question (a value for a choice, an unknown option)."""


class ImplausibleValue(InvalidAnswer):
    """A measured value outside the node's plausible range, not confirmed: most often a slip
    (121 typed for 12.1), so it is measured again rather than followed."""

    def __init__(self, value: float, low: float, high: float, unit: str | None) -> None:
        self.value, self.low, self.high, self.unit = value, low, high, unit
        u = f" {unit}" if unit else ""
        super().__init__(
            f"{value:g}{u} is outside the plausible range for this measurement "
            f"({low:g} to {high:g}{u}). Measure again; if the value is right, confirm that you "
            "re-measured it."
        )


class UnknownSession(DiagnosticsError):
    def __init__(self, session_id: str) -> None:
        super().__init__(f"There is no diagnostic session “{session_id}”.")
