"""Plan tasks (filled by the plans capability)."""
