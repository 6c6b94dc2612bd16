"""playbooks stage (not built yet)."""
