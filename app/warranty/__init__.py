"""Warranty: entitlement by model and serial, and (to come) the claims that pay service centres."""
