"""privacy stage (not built yet)."""
