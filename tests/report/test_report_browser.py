"""The report in a real browser: headless Chromium loads it with no console message, renders the figures,
and never turns dataset text into markup. Skipped where no Chromium is installed."""
from __future__ import annotations

import pytest

from lmkbench.report.browser import console_messages, find_chromium, open_in_browser, shrink_png

from report_support import SCRIPT_QUERY

pytestmark = pytest.mark.browser

CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install -y chromium)")


def test_console_line_parsing():
    stderr = ('[1:1:1121/081729.338097:INFO:CONSOLE:1] "boom", source: file:///x.html (1)\n'
              "[1:2:1121/081729.3:ERROR:dbus/bus.cc:405] Failed to connect to the bus\n"
              '[1:1:1121/0817.1:INFO:CONSOLE(7)] "old format", source: file:///x.html (7)\n')
    assert console_messages(stderr) == ['"boom", source: file:///x.html (1)', '"old format", source: file:///x.html (7)']


@needs_chromium
def test_the_console_check_catches_errors_and_blocked_fetches(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><meta http-equiv="Content-Security-Policy" content="img-src data:">'
                    '<img src="https://example.invalid/x.png"><script>console.error("boom"); missingFn();</script>')
    messages = open_in_browser(page).console
    assert any("boom" in m for m in messages)
    assert any("missingFn" in m for m in messages)
    assert any("example.invalid" in m for m in messages)


@needs_chromium
def test_report_loads_cleanly_and_renders(fixture_report, tmp_path):
    from PIL import Image

    shot = tmp_path / "report.png"
    res = open_in_browser(fixture_report["path"], screenshot=shot, width=1280, height=2400, dump_dom=True)
    assert res.console == [], res.console
    with Image.open(shot) as im:
        assert im.size == (1280, 2400)
        colours = im.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 200            # text, tables, figures: not a blank page
    dom = res.dom
    assert "<script" not in dom.lower()                          # the <script> query stayed text
    as_text = SCRIPT_QUERY.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")   # a serialised text node
    assert as_text in dom and "<b>bold</b>" not in dom
    assert dom.count("<img") == 5 and 'id="longqa"' in dom
    small = shrink_png(shot, max_width=800)
    with Image.open(small) as im:
        assert im.width == 800 and im.mode == "P"
    assert small.stat().st_size < 300_000


def test_no_chromium_is_a_clear_error(monkeypatch, tmp_path):
    from lmkbench.errors import LmkbenchError

    monkeypatch.setenv("LMKBENCH_CHROMIUM", str(tmp_path / "no-such-browser"))
    assert find_chromium() is None
    with pytest.raises(LmkbenchError, match="no Chromium found"):
        open_in_browser(tmp_path / "x.html")


@needs_chromium
def test_report_command_screenshot(fixture_results, tmp_path, capsys):
    from lmkbench.cli import main

    out, shot = tmp_path / "r.html", tmp_path / "r.png"
    assert main(["report", str(fixture_results["out"]), "-o", str(out), "--ci-resamples", "50",
                 "--screenshot", str(shot)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {shot}" in printed and "browser console" not in printed
    assert shot.stat().st_size > 10_000
