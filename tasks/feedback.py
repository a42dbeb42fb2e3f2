"""Feedback tasks (filled by the plans capability)."""
