"""How hard each property is tried: bounded, so that the folder runs in well under a minute.

Pure properties are cheap and get more examples; properties that import releases or walk trees
in the database get fewer. ``PROPERTY_EXAMPLES_SCALE=10 pytest tests/properties`` tries ten times
as hard (after changing the domain, or nightly). ``database=None`` keeps Hypothesis from writing
``.hypothesis/`` into the checkout; a failure prints the falsifying example to reproduce it.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

SCALE = float(os.environ.get("PROPERTY_EXAMPLES_SCALE") or 1)


def examples(n: int) -> int:
    return max(1, round(n * SCALE))


#: Pure functions over plain data.
PURE = settings(max_examples=examples(100), deadline=None, database=None)

#: Properties over generated diagnostic trees (a tree takes a while to draw).
TREES = settings(max_examples=examples(60), deadline=None, database=None)

#: Properties that touch the database through the function-scoped ``session`` fixture. Each
#: example runs in a savepoint of its own that is rolled back, so sharing the fixture across
#: examples is intended (hence the suppressed health check).
DATABASE = settings(
    max_examples=examples(25),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: Per kind of damage to a release (there are about twenty kinds, each a test of its own).
BROKEN = settings(DATABASE, max_examples=examples(4))
