"""Issue 20, the output / gate / security side of the probe: each case failed on the code before its fix.

The gate refuses what it cannot test (item 7); nothing is written outside the folder its user named (11); a
report never fetches or imports what a result file names (12); the leaderboard's CSV cannot carry a formula
and its HTML has a Content-Security-Policy (13); and bad output paths, bad run files, deep JSON and a full
disk are one clear error (exit 2) instead of a traceback.
"""
from __future__ import annotations

import base64
import errno
import hashlib
import html
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from lmkbench.cli import main
from lmkbench.errors import InputError, LmkbenchError
from lmkbench import io as lio
from lmkbench.results import write_result

CHECKSUMS = {"corpus.jsonl": "a" * 64}


def _record(task="t", pooling="mean", scores=None, model="m", metric="ndcg_at_10", **meta):
    scores = np.linspace(0.1, 0.9, 12) if scores is None else np.asarray(scores, dtype=float)
    per_query = {f"q{i}": {metric: float(s), "length": 10 * i, "truncated": False, "relevant": [f"d{i}"]}
                 for i, s in enumerate(scores)}
    return {"task": task, "task_kind": "retrieval", "split": "test", "model": model, "pooling": pooling,
            "main_metric": metric, "metrics": {metric: float(np.mean(scores)) if len(scores) else 0.0},
            "per_query": per_query, "meta": {"dataset_checksums": dict(CHECKSUMS), "model_identity": "id-1", **meta}}


def _run_of(rec):
    return {q: [(f"d{i}", 1.0 - i / 10) for i in range(3)] for q in rec["per_query"]}


@pytest.fixture()
def results(tmp_path):
    folder = tmp_path / "results"
    rng = np.random.default_rng(0)
    for p in ("cls", "mean"):
        rec = _record(pooling=p, scores=rng.uniform(0, 1, 12))
        write_result(folder, rec, run=_run_of(rec))
    return folder


@pytest.fixture()
def baseline(tmp_path, results):
    path = tmp_path / "baseline.json"
    assert main(["baseline", str(results), "-o", str(path)]) == 0
    return path


def _edit_baseline(path, edit):
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data, allow_nan=True))
    return path


def _check(results, baseline, *extra):
    return main(["check", str(results), "--baseline", str(baseline), *extra])


# ---------------------------------------------------------------- 7. the gate refuses what it cannot test


def test_gate_cell_without_per_item_scores_is_untestable(results, baseline, capsys):
    def drop(d):
        d["cells"][0]["items"] = None
        d["cells"][0]["item_metric"] = None
    _edit_baseline(baseline, drop)
    assert _check(results, baseline) == 2
    err = capsys.readouterr().err
    assert "untestable" in err and "pooling 'cls'" in err and "no per-item scores" in err


def test_gate_cell_with_all_nan_items_is_untestable(results, baseline, capsys):
    _edit_baseline(baseline, lambda d: d["cells"][1]["items"].update({k: None for k in d["cells"][1]["items"]}))
    assert _check(results, baseline) == 2
    err = capsys.readouterr().err
    assert "untestable" in err and "pooling 'mean'" in err and "no pairs" in err


def test_gate_nan_baseline_value_is_an_input_error(results, baseline, capsys):
    _edit_baseline(baseline, lambda d: d["cells"][0].update(value=float("nan")))
    assert _check(results, baseline) == 2
    err = capsys.readouterr().err
    assert "cells[0].value" in err and "finite" in err


def test_gate_misspelt_baseline_key_is_named_with_a_suggestion(results, baseline, capsys):
    def misspell(d):
        d["cells"][0]["greater_is_beter"] = d["cells"][0].pop("greater_is_better")
    _edit_baseline(baseline, misspell)
    assert _check(results, baseline) == 2
    err = capsys.readouterr().err
    assert "greater_is_beter" in err and "did you mean 'greater_is_better'" in err


def test_gate_misspelt_top_level_key(results, baseline, capsys):
    _edit_baseline(baseline, lambda d: d.update(celss=[]))
    assert _check(results, baseline) == 2
    assert "did you mean 'cells'" in capsys.readouterr().err


def test_gate_cell_with_one_pair_is_untestable(tmp_path, capsys):
    write_result(tmp_path / "then", _record(scores=[0.5]))
    assert main(["baseline", str(tmp_path / "then"), "-o", str(tmp_path / "b.json")]) == 0
    write_result(tmp_path / "now", _record(scores=[0.2]))       # worse, but one pair cannot be tested
    assert _check(tmp_path / "now", tmp_path / "b.json") == 2
    err = capsys.readouterr().err
    assert "untestable" in err and "the t-test needs two" in err


def test_baseline_refuses_results_without_per_item_scores(tmp_path, capsys):
    rec = _record(task_kind="clustering")
    rec.update(task_kind="clustering", main_metric="v_measure", metrics={"v_measure": 0.5}, per_item={})
    del rec["per_query"]
    write_result(tmp_path / "r", rec)
    assert main(["baseline", str(tmp_path / "r"), "-o", str(tmp_path / "b.json")]) == 2
    assert "no per-item scores" in capsys.readouterr().err and not (tmp_path / "b.json").exists()


# ---------------------------------------------------------------- output paths: checked before any work


def test_check_json_to_a_folder_is_exit_2_before_the_table(results, baseline, tmp_path, capsys):
    (tmp_path / "dir").mkdir()
    assert _check(results, baseline, "--json", str(tmp_path / "dir")) == 2
    out, err = capsys.readouterr()
    assert "gate: PASS" not in out and "is a folder" in err and "--json" in err


@pytest.mark.parametrize("argv", [["compare", "{r}", "--json", "{d}"], ["compare", "{r}", "--out", "{d}"],
                                  ["report", "{r}", "-o", "{d}"], ["baseline", "{r}", "-o", "{d}"]])
def test_output_file_that_is_a_folder(results, tmp_path, capsys, argv):
    (tmp_path / "dir").mkdir()
    argv = [a.format(r=results, d=tmp_path / "dir") for a in argv]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert "is a folder" in err and "Traceback" not in err and "wrote" not in out


def test_output_file_under_a_file(results, tmp_path, capsys):
    (tmp_path / "plain").write_text("x")
    assert main(["compare", str(results), "--json", str(tmp_path / "plain" / "c.json")]) == 2
    assert "not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["ranx", "mteb"])
def test_export_out_that_is_a_file(results, tmp_path, capsys, fmt):
    (tmp_path / "plain").write_text("x")
    assert main(["export", str(results), "--format", fmt, "-o", str(tmp_path / "plain")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_leaderboard_out_that_is_a_file_stops_before_the_grid(tmp_path, capsys):
    (tmp_path / "plain").write_text("x")
    config = tmp_path / "lb.yaml"
    config.write_text(f"results: {tmp_path / 'cells'}\nout: {tmp_path / 'plain'}\nmodels: [minilm]\n"
                      f"poolings: [mean]\ntasks: ['beir:{tmp_path / 'nowhere'}']\n")
    assert main(["leaderboard", "--config", str(config), "--quiet"]) == 2
    assert "out folder" in capsys.readouterr().err and not (tmp_path / "cells").exists()


def test_baseline_path_that_is_a_folder(results, tmp_path, capsys):
    (tmp_path / "dir").mkdir()
    assert _check(results, tmp_path / "dir") == 2
    assert "is a folder" in capsys.readouterr().err


def test_deeply_nested_json_is_an_input_error(tmp_path, results, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError, match="nested too deeply"):
        lio.read_json_document(deep, "baseline", "lmkbench.baseline/1")
    assert _check(results, deep) == 2
    assert "deep.json" in capsys.readouterr().err


def test_full_disk_cleans_up_and_is_one_error(tmp_path, monkeypatch, results, capsys):
    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(LmkbenchError, match="No space left"):
        lio.atomic_write_text(tmp_path / "out" / "x.txt", "hello")
    assert list((tmp_path / "out").iterdir()) == []          # no temporary file left behind
    assert main(["compare", str(results), "--out", str(tmp_path / "out" / "c.txt")]) == 2
    assert "No space left" in capsys.readouterr().err and list((tmp_path / "out").iterdir()) == []


# ---------------------------------------------------------------- .trec run files


def test_trec_with_a_non_numeric_score(results, capsys):
    trec = results / "t" / "m" / "mean.trec"
    lines = trec.read_text().splitlines()
    lines[1] = " ".join(lines[1].split()[:4] + ["high", "tag"])
    trec.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as exc:
        lio.read_trec_run(trec)
    assert exc.value.line == 2 and exc.value.field == "score"
    assert main(["compare", str(results)]) == 2
    assert "mean.trec:2: field 'score'" in capsys.readouterr().err


def test_trec_that_is_a_folder(results, capsys):
    trec = results / "t" / "m" / "mean.trec"
    trec.unlink()
    trec.mkdir()
    assert main(["compare", str(results)]) == 2
    assert "mean.trec" in capsys.readouterr().err


def test_ranx_export_of_results_without_queries(tmp_path, capsys):
    pytest.importorskip("ranx")
    folder = tmp_path / "zero"
    write_result(folder, _record(scores=[]), run={})
    assert main(["export", str(folder), "--format", "ranx", "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "wrote 0 file(s)" in out and "no evaluated queries" in out


# ---------------------------------------------------------------- 11. nothing outside the named folder


def test_safe_child_slugs_and_stays_inside(tmp_path):
    root = tmp_path / "root"
    assert lio.safe_child(root, "..", "a/b", "../../x.json") == root / "_" / "a_b" / ".._.._x.json"
    assert lio.safe_child(root, ".", "ok.txt") == root / "_" / "ok.txt"
    (root).mkdir()
    os.symlink(tmp_path, root / "link")
    with pytest.raises(LmkbenchError, match="outside"):
        lio.safe_child(root, "link", "x")


def _crafted(tmp_path):
    """Result files whose task, model, pooling and model identity try to climb out of any folder."""
    from lmkbench.results import format_trec_run

    folder = tmp_path / "crafted"
    names = [("../../../evil", "..", "../../../idevil"), ("..", "/abs", "/etc"), (".", ".", "..")]
    for i, (task, model, ident) in enumerate(names):
        for j, pooling in enumerate(("cls", "../mean")):
            rec = _record(task=task, model=model, pooling=pooling, model_identity=ident)
            path = folder / f"{i}{j}" / "r.json"
            path.parent.mkdir(parents=True)
            path.write_text(json.dumps({"schema": "lmkbench.result/1", **rec}))
            path.with_suffix(".trec").write_text(format_trec_run(_run_of(rec)))
    return folder


def _all_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("fmt", ["ranx", "mteb"])
def test_export_stays_inside_out(tmp_path, capsys, fmt):
    pytest.importorskip(fmt)
    crafted = _crafted(tmp_path)
    out = tmp_path / "a" / "b" / "c" / "out"
    before = _all_files(tmp_path)
    assert main(["export", str(crafted), "--format", fmt, "-o", str(out)]) == 0
    new = _all_files(tmp_path) - before
    assert new and all(out.resolve() in p.resolve().parents for p in new), sorted(map(str, new))


# ---------------------------------------------------------------- 12. a report reads, never fetches


def test_report_never_fetches_or_imports_what_a_result_names(tmp_path, monkeypatch, capsys):
    import lmkbench.data.beir_download as bd

    def no_download(*a, **k):
        raise AssertionError("report started a download")
    monkeypatch.setattr(bd, "download_beir", no_download)
    monkeypatch.setenv("LMKBENCH_DATA", str(tmp_path / "data"))
    marker = tmp_path / "imported"
    (tmp_path / "evilmod.py").write_text(f"open({str(marker)!r}, 'w').close()\nclass T: pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    folder = tmp_path / "r"
    sources = {"t1": "beir-download:scifact", "t2": "mteb:?task_class=evilmod:T", "t3": "suite:default"}
    for task, source in sources.items():
        for p in ("cls", "mean"):
            rec = _record(task=task, pooling=p, scores=np.linspace(0.1, 0.9, 12)[:: (1 if p == "cls" else -1)],
                          lmkbench_task_source=source)
            for item in rec["per_query"].values():
                del item["relevant"]
            write_result(folder, rec, run=_run_of(rec))
    html = tmp_path / "report.html"
    assert main(["report", str(folder), "-o", str(html), "--resamples", "200", "--ci-resamples", "100"]) == 0
    assert not marker.exists()
    text = html.read_text()
    assert text.count("data not available locally") >= 2
    assert not (tmp_path / "data").exists()


# ---------------------------------------------------------------- 13. leaderboard CSV and HTML


def test_leaderboard_csv_escapes_formulas_and_html_has_a_csp(tmp_path):
    import csv

    from lmkbench.leaderboard import build_leaderboard, write_outputs

    records = [_record(task=t, model=m, pooling=p, scores=np.linspace(0.1, 0.9, 12) + 0.01 * i)
               for i, (t, m, p) in enumerate([("=1+1", "=HYPERLINK(\"http://x\")", "cls"),
                                              ("=1+1", "@SUM(A1)", "+mean"), ("=1+1", "-2", "\tlmk"),
                                              ("=1+1", "plain", "\rx")])]
    paths = write_outputs(build_leaderboard(records), tmp_path / "lb")
    with open(paths["csv"], newline="") as fh:
        rows = list(csv.reader(fh))
    cells = [c for row in rows for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or (c[:1] == "-" and not _number(c))]
    assert "'=HYPERLINK(\"http://x\")" in cells and "'=1+1" in rows[0] and "'\tlmk" in cells
    page = paths["html"].read_text()
    from lmkbench.report.csp import CSP

    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)
    policy = html.unescape(meta.group(1))
    assert policy.startswith(CSP) and "default-src 'none'" in policy
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert len(scripts) == 1 and policy.endswith(f"script-src 'sha256-{digest}'")   # the sorting script alone


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
