"""Tangram migrations package."""
