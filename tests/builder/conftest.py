"""Fixtures of the builder tests: the rules tests' helpdesk (``desk``: a published ticket and
task form, agents in groups)."""

from __future__ import annotations

from tests.runtime.rules.conftest import desk  # noqa: F401  (the fixture)
