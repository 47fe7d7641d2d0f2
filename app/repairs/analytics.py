"""Tree analytics from repairs: per fix node and per tree, what walks and repairs show."""

from __future__ import annotations
