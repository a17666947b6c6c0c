"""The form engine: field-type registry, form schema model, JSON Schema, tables (DESIGN §2)."""
