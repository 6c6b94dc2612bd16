"""report stage (not built yet)."""
