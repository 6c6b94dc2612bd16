"""api stage (not built yet)."""
