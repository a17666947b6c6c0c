"""Apply translations from a JSON file (``{"message id": "译文", "a": ["单数", "复数"]}``) to one
locale's catalogue: ``python scripts/translate.py zh-CN batch.json``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from runtime.web.messages import translate


def main() -> int:
    locale, source = sys.argv[1], Path(sys.argv[2])
    batch = json.loads(source.read_text(encoding="utf-8"))
    items = {k: tuple(v) if isinstance(v, list) else v for k, v in batch.items()}
    print(f"{translate(locale, items)} message(s) set")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
