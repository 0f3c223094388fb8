"""Issue 28, crashes and inputs accepted though wrong: each is one clear error (exit 2, no traceback) now, and each
case failed on the code before its fix.

Overflowing position factors, a position table larger than memory, data-spec counts without bound, seeds torch
cannot take, a lone surrogate in a result's text, duplicate JSON keys, an empty --pooling, conflicting flags,
unusable depth edges and a negative --top-queries.
"""
from __future__ import annotations

import json

import pytest

from _result_files import write_two_results
from lmkbench.cli import main


@pytest.fixture()
def results(tmp_path):
    folder = tmp_path / "results"
    return folder, write_two_results(folder)


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.fixture()
def texts(tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text("a short text\n" + "a long text " * 200 + "\n")
    return path


# -- crashes -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("factor,says", [("inf", "finite"), ("1e308", "too large")])
def test_an_overflowing_rope_factor_is_one_error(tiny_modernbert, texts, tmp_path, factor, says, capsys):
    rc = main(["embed", "--model", tiny_modernbert, "--pooling", "mean", "--positions", f"ntk:{factor}",
               "--max-length", "256", "--input", str(texts), "--output", str(tmp_path / "e.npy"), "--no-cache",
               "--quiet"])
    assert rc == 2 and says in _err(capsys)


def test_a_position_table_larger_than_memory_is_refused(tiny_bert, texts, tmp_path, capsys):
    from lmkbench.positions import free_memory

    free = free_memory("cpu")
    if free is None:
        pytest.skip("free memory unknown here")
    rows = free // 32 + 1          # tiny_bert's hidden size is 32: more rows than bytes / 32 cannot fit
    rc = main(["embed", "--model", tiny_bert, "--pooling", "mean", "--positions", "pi", "--max-length", str(rows),
               "--input", str(texts), "--output", str(tmp_path / "e.npy"), "--no-cache", "--quiet"])
    err = _err(capsys)
    assert rc == 2 and "free memory" in err and "smaller --max-length" in err


@pytest.fixture()
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for i in range(3):
        (folder / f"d{i}.txt").write_text(" ".join(f"word{j}" for j in range(40)) + "\n")
    return folder


def test_a_data_spec_count_has_a_bound(corpus, tmp_path, capsys):
    rc = main(["train", "--model", "unused", "--pooling", "mean", "--data", f"crop:{corpus}?per_doc=1000000000",
               "--out", str(tmp_path / "m"), "--max-examples", "10", "--quiet"])
    err = _err(capsys)
    assert rc == 2 and "per_doc" in err and "<=" in err


def test_max_examples_stops_the_draws(corpus, monkeypatch):
    from lmkbench.train import unsupervised
    from lmkbench.train.data import load_training_data

    calls = []
    real = unsupervised.crop_pair
    monkeypatch.setattr(unsupervised, "crop_pair", lambda *a: calls.append(1) or real(*a))
    wanted = 10
    per_doc = 5 * wanted           # the first document alone would give five times what is asked for
    data = load_training_data(f"crop:{corpus}?per_doc={per_doc}", max_examples=wanted)
    assert len(data.examples) == wanted and len(calls) == wanted
    full = load_training_data(f"crop:{corpus}?per_doc={per_doc}", max_examples=per_doc + wanted)
    assert [(e.query, e.positive) for e in full.examples[:wanted]] == [(e.query, e.positive) for e in data.examples]


@pytest.mark.parametrize("flag", ["--seeds", "--seed"])
def test_a_seed_torch_cannot_take_is_refused_up_front(flag, tmp_path, capsys):
    rc = main(["train-matched", "--model", "unused", "--data", "unused.jsonl", "--out", str(tmp_path / "x"),
               flag, "99999999999999999999999"])
    assert rc == 2 and "<=" in _err(capsys)
    assert not (tmp_path / "x").exists()


def test_a_lone_surrogate_in_a_result_does_not_crash_the_report(tmp_path, results, capsys):
    folder, paths = results
    for path in paths.values():   # json.dumps writes "\ud800" as an escape: valid JSON, not encodable text
        data = json.loads(path.read_text())
        for item in data["per_query"].values():
            item["query_text"] = "lone \ud800 surrogate"
        path.write_text(json.dumps(data))
    out = tmp_path / "r.html"
    assert main(["report", str(folder), "-o", str(out), "--no-task-data"]) == 0
    assert "lone \ufffd surrogate" in out.read_text(encoding="utf-8")
    assert main(["compare", str(folder), "--json", str(tmp_path / "c.json")]) == 0


# -- accepted though wrong --------------------------------------------------------------------------------------
def test_a_result_with_a_key_given_twice_is_refused(results, capsys):
    folder, paths = results
    text = paths["mean"].read_text()
    paths["mean"].write_text(text.replace('"pooling": "mean"', '"pooling": "mean", "pooling": "cls"', 1))
    assert main(["compare", str(folder)]) == 2
    err = _err(capsys)
    assert "'pooling' is given twice" in err and str(paths["mean"]) in err


def test_a_baseline_with_a_key_given_twice_is_refused(tmp_path, results, capsys):
    folder, _ = results
    base = tmp_path / "baseline.json"
    assert main(["baseline", str(folder), "-o", str(base)]) == 0
    base.write_text(base.read_text().replace('"schema": "lmkbench.baseline/1"',
                                             '"schema": "lmkbench.baseline/1", "schema": "lmkbench.baseline/1"', 1))
    assert main(["check", str(folder), "--baseline", str(base)]) == 2
    assert "'schema' is given twice" in _err(capsys)


def test_a_matched_file_with_a_key_given_twice_is_refused(tmp_path):
    from lmkbench.errors import LmkbenchError
    from lmkbench.train.matched import SCHEMA, matched_results

    path = tmp_path / "matched.json"
    path.write_text('{"schema": "%s", "matched_results_dir": "a", "matched_results_dir": "b"}' % SCHEMA)
    with pytest.raises(LmkbenchError, match="'matched_results_dir' is given twice"):
        matched_results(path)


@pytest.mark.parametrize("pooling", ["", " , "])
def test_an_empty_pooling_is_an_error(pooling, texts, tmp_path, capsys):
    rc = main(["embed", "--model", "unused", "--pooling", pooling, "--input", str(texts),
               "--output", str(tmp_path / "e.npy"), "--no-cache"])
    assert rc == 2 and "names no pooling" in _err(capsys)


@pytest.mark.parametrize("argv", [
    ["embed", "--model", "unused", "--input", "t.txt", "--output", "e.npy", "--no-cache", "--cache-dir", "c"],
    ["train-matched", "--model", "unused", "--data", "d.jsonl", "--out", "x", "--no-cache", "--cache-dir", "c"],
    ["train-matched", "--model", "unused", "--data", "d.jsonl", "--out", "x", "--seeds", "0,1", "--seed", "0"],
], ids=["embed-cache", "matched-cache", "matched-seeds"])
def test_conflicting_flags_are_errors_whatever_the_value(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.txt").write_text("x\n")
    assert main(argv) == 2
    assert "not both" in _err(capsys)
    assert not (tmp_path / "x").exists() and not (tmp_path / "e.npy").exists()


@pytest.mark.parametrize("command", ["compare", "report"])
def test_unusable_depth_edges_are_named(command, results, tmp_path, capsys):
    folder, _ = results
    extra = ["-o", str(tmp_path / "r.html")] if command == "report" else []
    assert main([command, str(folder), "--depth-buckets", "0,0.5,2", *extra]) == 2
    err = _err(capsys)
    assert "edge(s) 2 unusable" in err and "0.5" not in err.split("unusable")[0].split("edge(s)")[1]


def test_a_negative_top_queries_is_refused(results, tmp_path, capsys):
    folder, _ = results
    assert main(["report", str(folder), "--top-queries", "-1", "-o", str(tmp_path / "r.html")]) == 2
    assert "must be 0 or more" in _err(capsys)
    assert not (tmp_path / "r.html").exists()
