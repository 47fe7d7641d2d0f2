"""Service notices and bulletins: what changes, why, from when, what to do instead, who to
ask; reviewed before they are published, delivered to the people they target, acknowledged."""
