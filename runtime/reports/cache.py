"""Widget results cached per process, keyed so that a hit is always a correct answer.

The key is a hash of everything the answer depends on: the app version (its stamp), the
widget's spec, the compiled statement with its bound parameters — which holds the viewer's
row scope, the hidden-field masks, the runtime filters, the time zone and the "now" relative
dates were resolved against — and the data versions of every form the statement reads
(:mod:`runtime.records.versions`, raised by every committed write). Two processes that
compute the same key compute the same answer; a write in any process changes the key, so
nothing is ever served stale after the write committed. Entries also expire after
``report_cache_seconds`` and the least recently used go beyond ``report_cache_entries``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Dialect


def statement_identity(statement: Any, dialect: Dialect) -> tuple[str, list[tuple[str, str]]]:
    """The statement's SQL text and its bound parameters (as text), in a stable order."""
    compiled = statement.compile(dialect=dialect)
    params = sorted((name, repr(value)) for name, value in compiled.params.items())
    return str(compiled), params


def cache_key(*parts: Any) -> str:
    """A hash of JSON-able parts (anything else by its ``repr``)."""
    text = json.dumps(parts, sort_keys=True, default=repr, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class ResultCache:
    """An LRU of results with a time to live; ``max_entries`` 0 disables it."""

    max_entries: int = 1000
    ttl_seconds: float = 300.0
    hits: int = 0
    misses: int = 0
    _entries: OrderedDict[str, tuple[float, Any]] = field(default_factory=OrderedDict)

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0 and self.ttl_seconds > 0

    def get(self, key: str) -> Any | None:
        if not self.enabled:
            return None
        found = self._entries.get(key)
        if found is None or found[0] < time.monotonic():
            if found is not None:
                del self._entries[key]
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return found[1]

    def put(self, key: str, value: Any) -> None:
        if not self.enabled:
            return
        self._entries[key] = (time.monotonic() + self.ttl_seconds, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)
