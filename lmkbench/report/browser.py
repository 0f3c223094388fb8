"""Open a report in headless Chromium: console messages, the rendered DOM, a screenshot.

Chromium's own command line is enough (no webdriver): ``--screenshot`` writes a PNG of the viewport and
``--enable-logging=stderr --v=0`` prints every console message of the page as a ``CONSOLE`` log line,
including Content-Security-Policy violations and uncaught exceptions; ``--dump-dom`` prints the DOM after
load. The report contains no script, so any console line at all means something is wrong (a blocked
fetch, a broken construct). Every run gets a fresh profile folder and no network: the host resolver maps
every name to nothing, so even a stray URL could not load.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import LmkbenchError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND")
CONSOLE_LINE = re.compile(r":CONSOLE[:(]\d*\)?\]\s*(?P<message>.*)$")


@dataclass
class BrowserRun:
    console: list[str] = field(default_factory=list)   # console messages of the page
    dom: str = ""                                        # serialised DOM (dump_dom=True)
    screenshot: Path | None = None
    stderr: str = ""


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome binary ($LMKBENCH_CHROMIUM first), or None."""
    env = os.environ.get("LMKBENCH_CHROMIUM")
    if env:
        return env if Path(env).exists() else shutil.which(env)
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def console_messages(stderr: str) -> list[str]:
    return [m.group("message") for line in stderr.splitlines() if (m := CONSOLE_LINE.search(line))]


def _run(binary: str, args: list[str], timeout: float) -> tuple[int, str, str]:
    """Run Chromium in its own process group with a fresh profile; on timeout kill the whole group (its
    helper processes included) and raise."""
    with tempfile.TemporaryDirectory(prefix="lmkbench-chromium-") as profile:
        cmd = [binary, *FLAGS, f"--user-data-dir={profile}", *args]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "HOME": profile}, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise LmkbenchError(f"chromium did not finish within {timeout:.0f} s") from None
        return proc.returncode, out, err


def open_in_browser(html: str | Path, *, screenshot: str | Path | None = None, width: int = 1280,
                    height: int = 2000, dump_dom: bool = False, binary: str | None = None,
                    timeout: float = 120) -> BrowserRun:
    """Load ``html`` (a file) in headless Chromium; collect its console messages, and a screenshot of a
    ``width`` × ``height`` viewport if ``screenshot`` is given. The DOM after load is returned when no
    screenshot is asked for, or with ``dump_dom`` (a second load)."""
    binary = binary or find_chromium()
    if binary is None:
        raise LmkbenchError("no Chromium found (install it, e.g. apt-get install chromium, or set LMKBENCH_CHROMIUM)")
    url = Path(html).resolve().as_uri()
    out = BrowserRun()
    # headless Chromium exits after a --screenshot or a --dump-dom; one of them is always asked for
    args = ["--enable-logging=stderr", "--v=0", f"--window-size={width},{height}"]
    if screenshot is not None:
        shot = Path(screenshot).resolve()
        shot.parent.mkdir(parents=True, exist_ok=True)
        args.append(f"--screenshot={shot}")
        out.screenshot = shot
    else:
        args.append("--dump-dom")
    rc, stdout, stderr = _run(binary, [*args, url], timeout)
    out.stderr = stderr
    out.console = console_messages(stderr)
    if out.screenshot is not None and not out.screenshot.exists():
        raise LmkbenchError(f"chromium wrote no screenshot (exit {rc}): {stderr[-500:]}")
    if screenshot is None:
        out.dom = stdout
    elif dump_dom:
        out.dom = _run(binary, ["--dump-dom", url], timeout)[1]
    return out


def shrink_png(path: str | Path, max_width: int = 1100, colors: int = 256) -> Path:
    """Scale a screenshot down to ``max_width`` and quantise it to a palette (keeps it small for docs; the
    octree quantiser keeps small saturated areas such as the ▲/▼ marks in their colours)."""
    from PIL import Image

    path = Path(path)
    with Image.open(path) as im:
        im = im.convert("RGB")
        if im.width > max_width:
            im = im.resize((max_width, round(im.height * max_width / im.width)), Image.LANCZOS)
        im = im.quantize(colors=colors, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        from io import BytesIO

        buf = BytesIO()
        im.save(buf, format="PNG", optimize=True)
    from ..io import atomic_write_bytes

    atomic_write_bytes(path, buf.getvalue())
    return path
