"""The Python API (lmkbench.api.evaluate / load_results / export) and the example script that uses it."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

import lmkbench
from _support import REPO


def test_public_names_resolve():
    for name in lmkbench.__all__:
        assert getattr(lmkbench, name) is not None, name
    with pytest.raises(AttributeError):
        lmkbench.no_such_name  # noqa: B018


def test_evaluate_returns_the_comparison_compare_prints(tiny_bert, tiny_beir, tmp_path, capsys):
    from lmkbench.cli import main

    out = tmp_path / "res"
    cmp = lmkbench.api.evaluate(model=tiny_bert, poolings=["cls", "mean"], tasks=[f"beir:{tiny_beir}"], out=out,
                            device="cpu", cache_dir=tmp_path / "cache", correction="none")
    assert isinstance(cmp, lmkbench.Comparison)
    assert {(r.task, r.pooling) for r in cmp.select(bucket="all")} == {("tinybeir", "cls"), ("tinybeir", "mean")}
    assert len(lmkbench.load_results(out)) == 2
    capsys.readouterr()
    assert main(["compare", str(out), "--correction", "none"]) == 0
    assert capsys.readouterr().out.strip() == cmp.to_table().strip()
    with pytest.raises(lmkbench.LmkbenchError, match="unknown setting"):
        lmkbench.api.evaluate(model=tiny_bert, tasks=["x"], out=out, max_len=3)


def test_example_script_runs_outside_the_repository(tiny_bert, tiny_beir, tmp_path):
    out = tmp_path / "res"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "compare_poolings.py"), "--model", tiny_bert,
                           "--task", f"beir:{tiny_beir}", "--pooling", "mean,lmk", "--out", str(out),
                           "--max-length", "64"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "tinybeir: lmk:g=32 vs mean: Δ" in proc.stdout and "2 result files" in proc.stdout
    assert (tmp_path / "res-ranx" / "tinybeir" / "qrels.trec").is_file()


def test_evaluate_is_only_the_evaluators_package():
    """The API function has its own home (lmkbench.api.evaluate); lmkbench.evaluate is a plain package."""
    import importlib
    import types

    package = importlib.import_module("lmkbench.evaluate")
    assert type(package) is types.ModuleType and not callable(package) and lmkbench.evaluate is package
    assert lmkbench.api.evaluate.__module__ == "lmkbench.api" and "api" in lmkbench.__all__
