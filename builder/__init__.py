"""Tangram builder package."""
