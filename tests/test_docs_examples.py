"""Every extension example of the manual (docs/examples/*.py) runs against the code as it is.

They run in one child process (each registers a pooling, metric, test, ... of its own, which must not leak into
the registries other tests see), one after the other, each reporting success or its traceback."""
from __future__ import annotations

import json
import subprocess
import sys

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
