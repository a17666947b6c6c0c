"""The ``webhook`` channel kind: signed JSON posted by another system becomes a record.

See ``README.md`` in this package for the signature recipe and the outbound event payload.
"""
