"""Extensions reach the CLI (issue 27 item 5): ``--plugin`` (a module or a .py file), ``$LMKBENCH_PLUGINS`` and
entry points register before the command line is built, and the extension's source is in the code digest of
what it computes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "docs" / "examples" / "pooling.py"


def _lmkbench(*args, env=None):
    return subprocess.run([sys.executable, "-m", "lmkbench", *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}, timeout=600)


def test_a_plugin_pooling_runs_from_the_cli_and_its_code_is_in_the_result(tiny_bert, tiny_beir, tmp_path):
    plugin = tmp_path / "my_pooling.py"
    plugin.write_text(EXAMPLE.read_text())
    out = tmp_path / "res"
    args = ["run", "--model", tiny_bert, "--pooling", "first_k:k=4,mean", "--task", f"beir:{tiny_beir}",
            "--out", str(out), "--no-cache", "--quiet", "--device", "cpu"]
    unknown = _lmkbench(*args)
    assert unknown.returncode == 2 and "first_k" in unknown.stderr
    done = _lmkbench("--plugin", str(plugin), *args)
    assert done.returncode == 0, done.stderr
    cell = json.loads(next(out.rglob("first_k_k=4.json")).read_text())
    code = cell["meta"]["system"]["code"]
    again = _lmkbench(*args, env={"LMKBENCH_PLUGINS": str(plugin)})          # the environment: reused
    assert again.returncode == 0 and "all 2 cells done" in again.stdout, again.stdout + again.stderr
    plugin.write_text(EXAMPLE.read_text().replace("leading tokens averaged", "leading tokens, averaged"))
    edited = _lmkbench("--plugin", str(plugin), *args)                    # an edit of the extension recomputes
    assert edited.returncode == 0 and "recomputing" in edited.stdout and "system.code" in edited.stdout
    assert json.loads(next(out.rglob("first_k_k=4.json")).read_text())["meta"]["system"]["code"] != code


def test_plugin_errors_are_one_line(tmp_path):
    missing = _lmkbench("--plugin", str(tmp_path / "nope.py"), "poolings")
    assert missing.returncode == 2 and "no such file" in missing.stderr and "Traceback" not in missing.stderr
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    res = _lmkbench("--plugin", str(broken), "poolings")
    assert res.returncode == 2 and "boom" in res.stderr and "Traceback" not in res.stderr


def test_extension_digests_name_only_outside_code():
    from lmkbench.specs import extension_digests

    assert all("lmkbench." not in d.split(" = ")[1].split(":")[0] for d in extension_digests())
