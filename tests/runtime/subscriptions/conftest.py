"""The subscriptions' tests run against the installed Customer Center."""

from __future__ import annotations

from tests.templates.customer_center.conftest import center  # noqa: F401  (fixture)
