"""insight stage (not built yet)."""
