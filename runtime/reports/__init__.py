"""Reports at run time: dashboards and widgets compiled by ``engines.report``, cached,
drilled down and exported."""
