"""Background jobs: a table, a claim protocol and workers."""
