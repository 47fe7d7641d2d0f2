"""Escalations: the form and the mail address that replace the phone line.

The package itself imports nothing, so that its Flask-free core (models, settings, sla, policy,
services, workflow, attachments, inbound, reports) can be imported without Flask; the blueprint
is ``routes.bp``.
"""
