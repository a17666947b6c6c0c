"""Outbound webhook subscriptions: record events of an app posted, signed, to a URL."""
