"""connectors stage (not built yet)."""
