"""The parts catalogue: part numbers, releases, supersession, fitment. Knows nothing of the web."""
