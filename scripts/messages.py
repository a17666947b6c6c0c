"""Re-extract the web UI's messages and merge them into the catalogues (``make messages``).

Prints the messages still untranslated per locale; ``--check`` exits 1 when there are any.
"""

from __future__ import annotations

import sys

from runtime.web.messages import update


def main() -> int:
    report = update()
    missing = 0
    for locale, messages in report.items():
        for message in messages:
            print(f"{locale}: untranslated: {message!r}")
        missing += len(messages)
    print(f"{missing} untranslated message(s)")
    return 1 if missing and "--check" in sys.argv else 0


if __name__ == "__main__":
    raise SystemExit(main())
