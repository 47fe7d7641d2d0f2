"""Repairs, histories and exchange authorisations as JSON documents (the API's shapes)."""

from __future__ import annotations
