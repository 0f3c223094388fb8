"""Check the built manual (``make docs`` runs it after the strict build): no Sphinx role left as text
(``:class:`` …, shown as code by docs/hooks.py) and nothing fetched from another site (no web font, stylesheet,
script or image by URL: the manual reads offline, like the report). Links out (``<a href>``) are fine.

    python docs/check_site.py build/site        # exit 1 with one line per problem
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from docs.gen.md import ANY_ROLE  # noqa: E402

#: a resource the browser would fetch from another site: <link href>, <script src>, <img src>, CSS url(), @import
FETCH = re.compile(r"<(?:link|script|img|source|iframe)\b[^>]*\b(?:href|src)=[\"']?(?:https?:)?//[^\"'\s>]+"
                   r"|url\(\s*[\"']?(?:https?:)?//[^)]+\)|@import\s+[\"']?(?:url\()?(?:https?:)?//", re.I)
PRE = re.compile(r"<pre\b.*?</pre>", re.S | re.I)


def problems(site: Path) -> list[str]:
    found = []
    for path in sorted(site.rglob("*")):
        if path.suffix not in (".html", ".css") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        where = path.relative_to(site)
        for m in FETCH.finditer(text):
            found.append(f"{where}: fetches from another site: {m.group(0)[:120]}")
        if path.suffix == ".html":
            for m in ANY_ROLE.finditer(PRE.sub("", text)):
                found.append(f"{where}: a Sphinx role shown as text: {text[m.start():m.end() + 40]!r}")
    return found


def main(argv: list[str]) -> int:
    site = Path(argv[0] if argv else ROOT / "build" / "site")
    if not any(site.glob("*.html")):
        print(f"check_site: no built pages in {site}")
        return 1
    found = problems(site)
    for line in found:
        print(f"check_site: {line}")
    print(f"check_site: {len(list(site.rglob('*.html')))} pages, {len(found)} problems")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
