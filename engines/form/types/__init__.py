"""Field types, one module per family; see ``engines.form.registry`` for the list."""
