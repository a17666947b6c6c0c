"""Automation rules at run time: fired by record writes, run in their transaction (DESIGN §6)."""
