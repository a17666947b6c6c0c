"""HTML mail → plain text: no markup, scripts, styles or remote references survive."""

from __future__ import annotations

import contextlib
import re
from html.parser import HTMLParser

BLOCKS = {"p", "div", "br", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "hr"}
DROPPED = {"script", "style", "head", "title", "noscript", "template"}


class _Text(HTMLParser):
    def __init__(self, cids: dict[str, str]) -> None:
        super().__init__(convert_charrefs=True)
        self.cids = cids
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROPPED:
            self.skip += 1
        elif tag in BLOCKS:
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n• ")
        elif tag == "img":
            src = dict(attrs).get("src") or ""
            if src.lower().startswith("cid:"):
                name = self.cids.get(src[4:].strip("<>"), src[4:])
                self.parts.append(f"[{name}]")

    def handle_endtag(self, tag: str) -> None:
        if tag in DROPPED:
            self.skip = max(0, self.skip - 1)
        elif tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_to_text(html: str, cids: dict[str, str] | None = None) -> str:
    parser = _Text(cids or {})
    with contextlib.suppress(Exception):  # broken markup: keep what was read
        parser.feed(html)
        parser.close()
    text = "".join(parser.parts).replace("\xa0", " ")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
