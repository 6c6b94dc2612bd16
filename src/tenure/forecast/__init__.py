"""forecast stage (not built yet)."""
