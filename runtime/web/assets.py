"""Static files under ``/static``: URLs carry a content hash so browsers may cache them forever.

``vendor/`` holds the front-end packages copied from node_modules by
``scripts/build_assets.py`` (``make``); nothing is loaded from a CDN.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PREFIX = "/static/"
#: The app builder's own scripts and styles, served at ``/static/builder/…``.
BUILDER_STATIC_DIR = Path(__file__).parents[2] / "builder" / "web" / "static"
BUILDER_PREFIX = "builder/"


def _root(path: str) -> tuple[Path, str]:
    if path.startswith(BUILDER_PREFIX):
        return BUILDER_STATIC_DIR, path[len(BUILDER_PREFIX) :]
    return STATIC_DIR, path


@cache
def _digest(path: str) -> str | None:
    root, relative = _root(path)
    file = (root / relative).resolve()
    if root.resolve() not in file.parents or not file.is_file():
        return None
    return hashlib.sha256(file.read_bytes()).hexdigest()[:12]


def static_url(path: str) -> str:
    """``/static/<path>?v=<hash>``; without the hash when the file is missing."""
    digest = _digest(path)
    url = STATIC_PREFIX + path
    return f"{url}?v={digest}" if digest else url


def vendor_available(path: str) -> bool:
    return _digest(f"vendor/{path}") is not None


def clear_cache() -> None:
    _digest.cache_clear()
