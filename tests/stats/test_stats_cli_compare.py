import json

from lmkbench.cli import main


def test_compare_end_to_end(results_dir, tmp_path, capsys):
    out = tmp_path / "cmp.json"
    assert main(["compare", str(results_dir), "--baseline", "mean", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "== toy (retrieval, test)" in text and "== toycls (classification, test)" in text
    assert "▲" in text and "▼" in text and "holm within this task (9 tests)" in text
    data = json.loads(out.read_text())
    assert data["schema"] == "lmkbench.comparison/1" and data["settings"]["test"] == "ttest"
    marks = {(r["pooling"], r["bucket"]): r["mark"] for r in data["rows"] if r["task"] == "toy"}
    assert marks[("cls", "all")] == "loss" and marks[("lmk:g=32", "1k-2k")] == "win"


def test_compare_options(results_dir, capsys):
    assert main(["compare", str(results_dir), "--test", "wilcoxon", "--correction", "bh",
                 "--buckets", "0,1k,inf", "--min-n", "5", "--layout", "matrix"]) == 0
    text = capsys.readouterr().out
    assert "wilcoxon (zero_method=wilcox), bh" in text and "0-1k" in text and "1k+" in text


def test_compare_errors_are_one_line_exit_2(tmp_path, results_dir, capsys):
    assert main(["compare", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "results folder not found" in err
    assert main(["compare", str(results_dir), "--buckets", "0,2k,1k"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "strictly increasing" in err
