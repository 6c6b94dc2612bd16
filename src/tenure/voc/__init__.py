"""voc stage (not built yet)."""
