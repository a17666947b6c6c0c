"""The list page's logic: filters from field types, the page's URL state, cell formatting."""
