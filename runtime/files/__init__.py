"""Stored files (attachments, imports, exports)."""
