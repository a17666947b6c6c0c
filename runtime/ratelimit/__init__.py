"""Request rate limiting: GCRA buckets per route class, per principal and per client address.

``rates`` parses ``N/second|minute|hour``; ``classify`` sorts a request into a route class;
``backends`` holds the GCRA arithmetic and the in-process store; ``redis_backend`` shares the
buckets between processes; ``limiter`` puts the policy together; the ASGI middleware that
answers 429 is ``runtime.middleware.RateLimitMiddleware``.
"""
