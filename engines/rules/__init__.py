"""Event-condition-action rules, SLA policies, business calendars and schedules (DESIGN §6).

Pure: no HTTP, no database; ``runtime.rules`` runs them."""
