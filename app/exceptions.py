"""The application's refusals: each says what went wrong in words a person can act on, and
which HTTP status it means. Raised by the Flask-free cores; answered once, in ``app.errors``.

Domain packages keep their own hierarchies (``parts_catalog.errors``, ``diagnostics.errors``),
which ``app.errors`` maps as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar


class AppError(Exception):
    """Base of every refusal a feature core raises.

    :param message: one or two sentences for the person: what is wrong, and what to do.
    :param errors: per field (``{"quantity": "Give a whole number."}``) or a list of problems,
        shown beside the form fields or returned as ``errors`` in the API's JSON.
    """

    status: ClassVar[int] = 400

    def __init__(
        self, message: str, *, errors: Mapping[str, str] | list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errors: Mapping[str, str] | list[str] = errors or {}


class NotAllowed(AppError):
    """This person may not do this to this object (a policy's answer)."""

    status = 403


class NotFound(AppError):
    """Nothing of that name, or nothing this person may see (which is said the same way)."""

    status = 404


class Conflict(AppError):
    """The object changed meanwhile, or the request repeats an earlier one with other content."""

    status = 409


class Invalid(AppError):
    """The request is well formed but cannot be acted on as it stands."""

    status = 422


class TooLarge(AppError):
    """The request is bigger than this kind of request may be."""

    status = 413


class PreconditionRequired(AppError):
    """A change that must name the version it was based on (``If-Match``) did not."""

    status = 428
