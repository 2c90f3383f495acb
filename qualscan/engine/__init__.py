"""Rule engine: runs rules over parsed units, suppression, fingerprints, caching, parallelism."""
