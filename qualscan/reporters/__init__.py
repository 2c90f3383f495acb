"""Reporters: pure ``render(result) -> str`` functions, one module per format."""
