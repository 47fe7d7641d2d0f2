"""Service-centre ordering and returns.

The package itself imports nothing, so that its Flask-free core (models, services, policy,
documents) can be imported without Flask; the blueprint is ``routes.bp``.
"""
