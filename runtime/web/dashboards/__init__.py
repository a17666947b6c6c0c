"""The dashboard pages' view models: runtime filters from the query string, widget results
shaped for the templates and charts, and readable cell values."""
