"""Service-centre ordering and returns."""
