"""Tangram runtime package."""
