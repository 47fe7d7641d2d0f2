"""Keeping the exchange programme: its rules (per product line or model glob), and the
defective units due back under an RMA.

The decision itself is :mod:`app.repairs.exchange`; an authorisation keeps a copy of the rule
it was decided by, so changing or removing a rule never changes a decision taken. No Flask
here; services flush, never commit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from app.auth.models import User
from app.exceptions import Conflict, Invalid, NotAllowed, NotFound
from app.models import utcnow
from app.repairs import policy
from app.repairs.models import ExchangeAuthorisation, ExchangeRule, UnitReturn
from app.repairs.services import person_of
from app.storable import CONTROL

#: A model glob as trees spell them: letters, digits, separators and the wildcards * ? [ ].
PATTERN = re.compile(r"[A-Za-z0-9*?\[\]/ ._-]{1,80}")
MAX_MONEY = Decimal("9999999999.99")


@dataclass(frozen=True)
class RuleAsked:
    """A rule as a keeper types it: a product line or a model glob (exactly one)."""

    product_line: str | None = None
    model_pattern: str | None = None
    eligible: bool = True
    value: Decimal | None = None
    exchange_only: bool = False
    auto_approve: bool = True
    advance: bool = False
    core_charge: Decimal | None = None
    return_days: int = 15
    note: str | None = None


def _may_keep(by: User) -> None:
    if not policy.may_keep_codes(person_of(by)):
        raise NotAllowed("Engineers and admins keep the exchange rules.")


def _money(errors: dict[str, str], name: str, amount: Decimal | None) -> None:
    if amount is not None and (not amount.is_finite() or amount < 0 or amount > MAX_MONEY):
        errors[name] = "An amount of 0 or more, with at most two decimals."
    elif amount is not None and amount != amount.quantize(Decimal("0.01")):
        errors[name] = "At most two decimals."


def _check(session: Session, asked: RuleAsked, *, rule_id: int | None) -> RuleAsked:
    """The rule cleaned, or :class:`Invalid` naming every field with a problem."""
    errors: dict[str, str] = {}
    line = (asked.product_line or "").strip() or None
    pattern = (asked.model_pattern or "").strip().upper() or None
    if line is None and pattern is None:
        errors["product_line"] = "Give a product line, or a model pattern below."
    elif line is not None and pattern is not None:
        errors["model_pattern"] = "A rule is for a product line or for models, not both."
    if line is not None and (len(line) > 40 or CONTROL.search(line)):
        errors["product_line"] = "At most 40 characters."
    if pattern is not None and not PATTERN.fullmatch(pattern):
        errors["model_pattern"] = "A model number or a glob (KDL-32*), at most 80 characters."
    _money(errors, "value", asked.value)
    _money(errors, "core_charge", asked.core_charge)
    if not 1 <= asked.return_days <= 365:
        errors["return_days"] = "Between 1 and 365 days."
    note = (asked.note or "").strip() or None
    if note is not None and (len(note) > 2000 or CONTROL.search(note)):
        errors["note"] = "At most 2000 characters."
    if not errors:
        # Two rules for one scope would leave the older one dead (the newest wins): say so.
        # Two keepers adding the same scope at once: the scope's unique constraint decides.
        for rule in all_rules(session):
            same_line = line is not None and (rule.product_line or "").lower() == line.lower()
            same_pattern = pattern is not None and rule.model_pattern == pattern
            if rule.id != rule_id and (same_line or same_pattern):
                field = "product_line" if line else "model_pattern"
                errors[field] = f"There is a rule for {line or pattern} already: edit that one."
    if errors:
        raise Invalid("The rule was not saved: " + "; ".join(errors.values()), errors=errors)
    return RuleAsked(
        line,
        pattern,
        asked.eligible,
        asked.value,
        asked.exchange_only,
        asked.auto_approve,
        asked.advance,
        asked.core_charge,
        asked.return_days,
        note,
    )


def all_rules(session: Session) -> list[ExchangeRule]:
    """Model rules first (they win over their line's), then product lines; each by name."""
    rules = session.scalars(select(ExchangeRule)).all()
    return sorted(
        rules,
        key=lambda r: (r.model_pattern is None, (r.model_pattern or r.product_line or "").lower()),
    )


def get_rule(session: Session, rule_id: int) -> ExchangeRule:
    """:raises NotFound: no such rule."""
    rule = session.get(ExchangeRule, rule_id)
    if rule is None:
        raise NotFound("There is no such exchange rule (removed meanwhile?).")
    return rule


def _apply(rule: ExchangeRule, asked: RuleAsked, *, by: User) -> None:
    rule.product_line = asked.product_line
    rule.model_pattern = asked.model_pattern
    rule.eligible = asked.eligible
    rule.value = asked.value
    rule.exchange_only = asked.exchange_only
    rule.auto_approve = asked.auto_approve
    rule.advance = asked.advance
    rule.core_charge = asked.core_charge
    rule.return_days = asked.return_days
    rule.note = asked.note
    rule.updated_by = by.email
    rule.updated_at = utcnow()


def add_rule(session: Session, asked: RuleAsked, *, by: User) -> ExchangeRule:
    """:raises Invalid: naming every field with a problem; :class:`Conflict` when another
    keeper added a rule for the same scope meanwhile."""
    _may_keep(by)
    clean = _check(session, asked, rule_id=None)
    rule = ExchangeRule()
    _apply(rule, clean, by=by)
    with _one_per_scope(session, clean):
        session.add(rule)
        session.flush()
    return rule


def edit_rule(session: Session, rule: ExchangeRule, asked: RuleAsked, *, by: User) -> None:
    """Change a rule; requests decided already keep the rule as it was (in their inputs).

    :raises Invalid: naming every field with a problem; :class:`Conflict` when its new scope
    was given a rule of its own meanwhile.
    """
    _may_keep(by)
    clean = _check(session, asked, rule_id=rule.id)
    with _one_per_scope(session, clean):
        _apply(rule, clean, by=by)
        session.flush()


@contextmanager
def _one_per_scope(session: Session, asked: RuleAsked) -> Iterator[None]:
    """The scope's unique constraint decides between two keepers saving the same scope at once
    (the look-up in ``_check`` cannot: both may pass it)."""
    try:
        with session.begin_nested():
            yield
    except IntegrityError:
        scope = asked.product_line or asked.model_pattern
        field = "product_line" if asked.product_line else "model_pattern"
        said = f"There is a rule for {scope} already (added just now): edit that one."
        raise Conflict(said, errors={field: said}) from None


def remove_rule(session: Session, rule: ExchangeRule, *, by: User) -> None:
    """Remove a rule: its units are no longer in the programme (unless their line's rule
    covers them). Authorisations keep their copy of it."""
    _may_keep(by)
    session.delete(rule)
    session.flush()


# --- defective units due back -------------------------------------------------------------------


@dataclass(frozen=True)
class DueUnit:
    unit_return: UnitReturn
    authorisation: ExchangeAuthorisation
    overdue: bool


def open_returns(session: Session, *, today: date) -> list[DueUnit]:
    """Defective units not received yet, the first due first; ``overdue`` past their due date."""
    rows = session.scalars(
        select(UnitReturn)
        .where(UnitReturn.received_on.is_(None))
        .options(selectinload(UnitReturn.authorisation).selectinload(ExchangeAuthorisation.repair))
        .order_by(UnitReturn.due_on, UnitReturn.id)
    ).all()
    return [DueUnit(r, r.authorisation, r.due_on < today) for r in rows]
