"""Accounts: signing in and out, passwords, invitations, API tokens.

The package itself imports nothing, so that its Flask-free core (models, services, policy,
settings, errors, parking) can be imported without Flask; the blueprint is ``routes.bp``.
"""
