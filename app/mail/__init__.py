"""Mail: an outbox written in the caller's transaction and a worker that sends it over SMTP."""
