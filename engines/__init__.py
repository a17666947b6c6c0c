"""Pure engines: no HTTP, no FastAPI."""
