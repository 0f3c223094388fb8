"""The one-screen page of the committed matched experiment's finding (issue 29 item 7): read from
results/extrapolation without recomputing, current, self-contained, and linked from reports that cannot answer."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lmkbench.report.finding import COMMITTED, SURE, finding_href, render_finding

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = ROOT / "results" / "extrapolation"


@pytest.fixture(scope="module")
def page():
    return render_finding(EXPERIMENT, COMMITTED)


def test_the_committed_page_is_current(page):
    assert COMMITTED.is_file(), "make it: lmkbench report results/extrapolation -o reports/matched-finding.html"
    assert COMMITTED.read_text() == page


def test_every_delta_and_mark_is_read_from_the_comparison(page):
    spreads = [s for s in json.loads((EXPERIMENT / "comparison.json").read_text())["seed_spread"]
               if s["bucket"] == "all"]
    table = page[page.index('<table class="finding">'):page.index("</table>")]
    cells = re.findall(r'<td class="num (sure|beyond|noise)[^"]*"[^>]*>([+-]\d\.\d{4})', table)
    assert len(cells) == len(spreads)
    assert sorted(v for _, v in cells) == sorted(f"{s['mean']:+.4f}" for s in spreads)
    assert sum(k == "noise" for k, _ in cells) == sum(s["within_noise"] for s in spreads)
    assert sum(k == "sure" for k, _ in cells) == sum(s["reading"] == SURE for s in spreads) == \
        table.count('class="mark loss"') + table.count('class="mark win"')


def test_the_page_is_self_contained(page):
    assert "<script" not in page and not re.search(r"(?i)https?:|url\(|@import", page)
    for href in re.findall(r'href="([^"]+)"', page):
        assert re.fullmatch(r"(\.\./)*[\w.-]+(/[\w.-]+)*\.html", href) and (COMMITTED.parent / href).resolve().is_file()


def test_a_report_that_cannot_answer_links_to_it(tmp_path):
    out = tmp_path / "deep" / "report.html"
    href = finding_href(out)
    assert href is not None and (out.parent / href).resolve() == COMMITTED
    assert finding_href(COMMITTED) is None
