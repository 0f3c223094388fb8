"""The report screenshot of the README (``reports/example-screenshot.png``) and of the manual
(``docs/manual/assets/report-screenshot.png``): the first screen of the demo report in headless Chromium, plus
``reports/example-screenshot.json``, the digest of the report template it shows. ``tests/test_screenshot.py``
fails when the template changed since (a digest, not file times: a fresh clone gives every file the same mtime).

    make demo && make screenshot          # python docs/screenshot.py reports/demo.html
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOTS = [ROOT / "reports" / "example-screenshot.png", ROOT / "docs" / "manual" / "assets" / "report-screenshot.png"]
RECORD = ROOT / "reports" / "example-screenshot.json"
#: what the report's first screen is drawn from (its data comes from the demo run)
TEMPLATE = [ROOT / "lmkbench" / "report" / "templates" / name for name in ("report.html.j2", "report.css")]


def digest(paths) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.relative_to(ROOT).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def main(argv: list[str]) -> int:
    from lmkbench.report.browser import open_in_browser, shrink_png

    report = Path(argv[0] if argv else ROOT / "reports" / "demo.html")
    if not report.is_file():
        print(f"screenshot: no {report}: run make demo first")
        return 1
    open_in_browser(report, screenshot=SHOTS[0], width=1280, height=2140)
    shrink_png(SHOTS[0], max_width=1000)
    shutil.copyfile(SHOTS[0], SHOTS[1])
    RECORD.write_text(json.dumps({"template": [p.relative_to(ROOT).as_posix() for p in TEMPLATE],
                                  "template_sha256": digest(TEMPLATE), "png_sha256": digest(SHOTS[:1]),
                                  "report": report.resolve().relative_to(ROOT).as_posix()
                                  if report.resolve().is_relative_to(ROOT) else str(report)}, indent=1) + "\n")
    print(f"screenshot: wrote {', '.join(p.relative_to(ROOT).as_posix() for p in SHOTS)} and {RECORD.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
