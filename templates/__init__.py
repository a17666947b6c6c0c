"""Tangram templates package."""
