"""Logging: the set-up, the JSON line format, and the per-update context."""
