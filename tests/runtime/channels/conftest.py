"""The channels' tests run against the installed Customer Center (its intake mapping)."""

from __future__ import annotations

from tests.templates.customer_center.conftest import center  # noqa: F401  (fixture)
