"""Maintainability metrics (placeholder until the metrics layer lands)."""
