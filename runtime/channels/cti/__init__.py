"""Telephony (CTI): signed call events in, call logs on the customer and ticket, screen pops,
click-to-call out. See README.md."""
