"""Helpers shared by tests: starting and stopping ``tangram`` processes, bounded polling."""
