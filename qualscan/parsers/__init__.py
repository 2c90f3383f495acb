"""Parsers: bytes in, typed objects with line numbers out. No disk access."""
