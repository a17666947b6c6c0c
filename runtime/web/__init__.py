"""The end-user web UI: server-rendered Jinja2 pages with htmx (see README.md here)."""
