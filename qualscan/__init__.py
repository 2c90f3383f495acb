"""qualscan: find what will break under peak traffic in an e-commerce service monorepo."""

__version__ = "0.1.0"
