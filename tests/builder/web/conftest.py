"""Pages that need the installed Customer Center (the channels pages) use its fixture."""

from __future__ import annotations

from tests.templates.customer_center.conftest import center  # noqa: F401  (fixture)
