"""Service dependency graph (placeholder until the graph layer lands)."""
