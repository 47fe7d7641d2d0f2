"""Diagnostic decision trees, their revisions and the walk. Knows nothing of the web."""
