"""Outbound network calls: which addresses may be called (``egress``), signed webhook
deliveries with their log (``webhooks``, ``models``, ``routes``)."""
