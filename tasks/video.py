"""Video analysis tasks (filled by the video capability)."""
