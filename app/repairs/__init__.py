"""Repairs by serial: one unit's repair, its timeline, the product's history across centres,
and the manufacturer's exchange programme."""
