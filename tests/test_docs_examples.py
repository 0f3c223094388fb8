"""Every extension example of the manual (docs/examples/*.py) runs against the code as it is, and every command
block of the README and Getting started runs as pasted into a fresh copy of the clone.

They run in one child process (each registers a pooling, metric, test, ... of its own, which must not leak into
the registries other tests see), one after the other, each reporting success or its traceback."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from _support import REPO

EXAMPLES = sorted((REPO / "docs" / "examples").glob("*.py"))

RUNNER = r"""
import io, json, runpy, sys, traceback
from contextlib import redirect_stdout
out = {}
for path in sys.argv[1:]:
    buf = io.StringIO()
    try:
        with redirect_stdout(buf):
            runpy.run_path(path, run_name="__main__")
        out[path] = {"ok": True, "stdout": buf.getvalue()}
    except BaseException:
        out[path] = {"ok": False, "stdout": buf.getvalue(), "error": traceback.format_exc()}
print("@@" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def ran():
    proc = subprocess.run([sys.executable, "-c", RUNNER, *map(str, EXAMPLES)], cwd=REPO, capture_output=True,
                          text=True, timeout=600)
    assert "@@" in proc.stdout, proc.stderr[-3000:]
    return json.loads(proc.stdout.split("@@", 1)[1])


def test_there_is_one_example_per_extension_point():
    names = {p.stem for p in EXAMPLES}
    assert {"pooling", "strategy", "positions", "loader", "metric", "stat_test", "export", "report_section"} <= names
    pages = "".join(p.read_text() for p in (REPO / "docs" / "manual" / "extending").glob("*.md"))
    for p in EXAMPLES:       # each is shown in the manual, from the file itself
        assert f'--8<-- "docs/examples/{p.name}"' in pages, p.name


EXPECT = {   # what each example must print: evidence that it did its job, not only that it did not raise
    "pooling": ["'first_k:k=4': (2, 384)", "did you mean 'first_k'", "did you mean 'k'"],
    "strategy": ["headtail:size=32,pool=mean,agg=max (3, 384) row owners: [0 1 1]",
                 "headtail:size=32,pool=mean,agg=mean (2, 384)"],
    "positions": ["(2, 384) content tokens: [900, 1]"],
    "loader": ["faq_shop mean", "faq_shop lmk:g=32"],
    "metric": ["hit_at_2 1.0 0.0"],
    "stat_test": ["'sign'", "PairedResult("],
    "export": ["toy,m,mean,ndcg_at_10,0.5", "toy,m,lmk:g=32,ndcg_at_10,0.75"],
    "report_section": ["| toy | lmk:g=32 | all |"],
}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(ran, path):
    res = ran[str(path)]
    assert res["ok"], res.get("error")
    for text in EXPECT.get(path.stem, []):
        assert text in res["stdout"], (text, res["stdout"])


# -- every command block of the README and Getting started, pasted into a copy of the clone ---------------------

PAGES = [REPO / "README.md", REPO / "docs" / "manual" / "getting-started.md", REPO / "docs" / "manual" / "index.md"]
SKIP = re.compile(r"^<!--\s*docs-test:\s*skip:\s*(?P<why>\S.*?)\s*-->$")
FENCE = re.compile(r"^```(?P<lang>bash|sh|shell|console)\s*$")


def command_blocks(path: Path) -> list[tuple[int, str, str | None]]:
    """(line, commands, skip reason or None) of every shell block of a page; a skip marker is an HTML comment
    ``<!-- docs-test: skip: REASON -->`` on the line before the fence (invisible in the rendered page)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if FENCE.match(lines[i]):
            start, body = i + 1, []
            i += 1
            while lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            marker = SKIP.match(lines[start - 2].strip()) if start >= 2 else None
            blocks.append((start, "\n".join(body), marker["why"] if marker else None))
        i += 1
    return blocks


def test_every_skipped_block_says_why():
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        markers = [m for m in re.findall(r"<!--\s*docs-test:.*?-->", text)]
        skipped = [b for b in command_blocks(page) if b[2] is not None]
        assert len(markers) == len(skipped), f"{page.name}: a docs-test marker not right above a shell block"
        assert all(len(why) >= 10 for _, _, why in skipped), page.name
    for page in PAGES[:2]:                          # the pages a newcomer pastes from run something
        assert any(why is None for _, _, why in command_blocks(page)), page.name


def _fresh_copy(dest: Path) -> None:
    """The files a clone of this working tree has (tracked, or new and not ignored), copied to ``dest``; the
    ``.venv`` that ``make setup`` made, linked in, older than nothing it depends on (setup is done)."""
    proc = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip("not a git clone")
    venv = Path(sys.prefix)
    if not (venv / ".installed").is_file():
        pytest.skip("the venv was not made by make setup")
    for rel in filter(None, proc.stdout.split("\0")):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    (dest / ".venv").symlink_to(venv)
    made = (venv / ".installed").stat().st_mtime
    for dep in ("pyproject.toml", "constraints.txt"):
        os.utime(dest / dep, (made - 60, made - 60))


@pytest.mark.slow
def test_readme_and_getting_started_commands_run_in_a_fresh_clone(tmp_path):
    """The blocks not marked skipped run as pasted, one shell session, README first (it sets up and activates),
    then Getting started; nothing they write may show up in `git status` (runs/, reports/first.html are ignored),
    and the committed results/ stay as they were."""
    clone = tmp_path / "lmkbench"
    _fresh_copy(clone)
    before = {p for p in clone.rglob("*") if p.is_file() and ".venv" not in p.relative_to(clone).parts}
    script = ["set -eo pipefail"]
    for page in PAGES:
        for line, code, why in command_blocks(page):
            if why is None:
                script += [f"echo '@@@ {page.relative_to(REPO)}:{line}'", code]
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "VIRTUAL_ENV")}
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               LMKBENCH_CACHE=str(tmp_path / "cache"), PATH=f"{Path(sys.prefix) / 'bin'}{os.pathsep}{env['PATH']}")
    proc = subprocess.run(["bash", "-c", "\n".join(script)], cwd=clone, env=env, capture_output=True, text=True,
                          timeout=900)
    out = proc.stdout + proc.stderr
    failed = ([ln for ln in proc.stdout.splitlines() if ln.startswith("@@@ ")] or ["@@@ ?"])[-1][4:]
    assert proc.returncode == 0, f"the block at {failed} failed:\n{out[-4000:]}"
    assert list((clone / "runs").rglob("*.json")), "run wrote nothing under runs/"
    new = sorted(p.relative_to(clone).as_posix() for p in clone.rglob("*")
                 if p.is_file() and p not in before and ".venv" not in p.relative_to(clone).parts)
    ignored = subprocess.run(["git", "-C", str(REPO), "check-ignore", "--no-index", "--stdin"], input="\n".join(new),
                             capture_output=True, text=True).stdout.split()
    assert sorted(set(new) - set(ignored)) == [], "written by the docs' commands and not ignored by git"
    assert not [p for p in new if p.startswith("results/")], "the docs' commands wrote into results/"
