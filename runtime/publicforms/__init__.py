"""Public web forms: a published form of an app at a public link (``/p/{slug}``), with a
challenge, a honeypot and rate limits; submissions go through the one write path and the
submitter gets an unguessable, revocable tracking link. See README.md."""
