"""Records: the rows of published forms, and their history and comments."""
