"""The README's report screenshot shows the report template as it is: `make screenshot` (after `make demo`)
records the template's digest beside the PNG; a template changed since makes this fail until it is rerun."""
from __future__ import annotations

import json
import sys

from _support import REPO

sys.path.insert(0, str(REPO))
from docs import screenshot  # noqa: E402


def test_the_readme_screenshot_is_not_older_than_the_report_template():
    assert screenshot.RECORD.is_file(), "no reports/example-screenshot.json: run make demo && make screenshot"
    record = json.loads(screenshot.RECORD.read_text())
    assert record["png_sha256"] == screenshot.digest(screenshot.SHOTS[:1]), "the PNG is not the one recorded"
    assert screenshot.SHOTS[0].read_bytes() == screenshot.SHOTS[1].read_bytes(), "README and manual differ"
    assert record["template_sha256"] == screenshot.digest(screenshot.TEMPLATE), (
        "the report template changed since the screenshot was taken: run make demo && make screenshot")


def test_the_readme_shows_the_screenshot():
    assert f"]({screenshot.SHOTS[0].relative_to(REPO).as_posix()})" in (REPO / "README.md").read_text()
