"""The organisation: departments, roles and memberships."""
