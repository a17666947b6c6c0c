"""Apps and their versions: drafts are edited, published versions run."""
