"""web stage (not built yet)."""
