"""Benchmarks: run as modules (``python -m benchmarks.records``); not part of the test suite."""
