"""qualscan rules: one module per rule (or tight family), discovered automatically."""
