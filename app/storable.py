"""What text can be stored: the characters refused wherever input enters (Flask-free, so that
the feature cores check what reaches them by other ways, such as mail or a parked form).

PostgreSQL rejects NUL in text; the other control characters (tab, newline and carriage return
aside) only ever arrive by accident and corrupt what is shown. Half of a UTF-16 pair (JSON and
YAML can spell one, ``"\\ud800"``) is not text at all: no database text column takes it.
"""

from __future__ import annotations

import re

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SURROGATE = re.compile(r"[\ud800-\udfff]")
