"""`lmkbench train` and `lmkbench train-matched` end to end on the tiny random BERT."""
from __future__ import annotations

import json

import pytest

from lmkbench.cli import main
from lmkbench.results import iter_results

FAST = ["--steps", "2", "--batch-size", "4", "--lr", "1e-3", "--query-max-length", "32", "--doc-max-length", "48",
        "--device", "cpu", "--quiet"]


def test_train_command(tiny_bert, toy_pairs, tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["train", "--model", tiny_bert, "--pooling", "lmk:train_g=8,16", "--data", str(toy_pairs),
                 "--out", str(out), *FAST, "--save-every", "1"]) == 0
    meta = json.loads((out / "lmkbench.json").read_text())
    assert meta["pooling"] == "lmk:g=32" and meta["train_pooling"] == "lmk:g=32,train_g=8+16"
    assert (out / "checkpoints" / "step-000001" / "trainer_state.pt").exists()
    assert "trained lmk:g=32,train_g=8+16 for 2 steps" in capsys.readouterr().out


def test_train_command_bad_data_is_one_line_exit_2(tiny_bert, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "q", "positive": "p"}\n{"query": "q", "positive": "p", "negatives": "n", "scores": [1]}\n')
    assert main(["train", "--model", tiny_bert, "--pooling", "mean", "--data", str(bad), "--out",
                 str(tmp_path / "m"), *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad.jsonl:2: field 'scores'" in err


def test_train_matched_trains_each_pooling_on_the_same_batches_and_evaluates_it(tiny_bert, tiny_beir, tmp_path, capsys):
    out = tmp_path / "exp"
    args = ["train-matched", "--model", tiny_bert, "--poolings", "cls,mean,lmk:train_g=8+16", "--data",
            f"beir:{tiny_beir}#test", "--out", str(out), *FAST, "--eval-task", f"beir:{tiny_beir}", "--no-cache",
            "--allow-overlap"]   # trains on the evaluated corpus's documents: allowed here, and recorded
    assert main(args) == 0
    rec = json.loads((out / "matched.json").read_text())
    assert rec["schema"] == "lmkbench.matched/1"
    assert [a["pooling"] for a in rec["arms"]] == ["cls", "mean", "lmk:g=32"]
    metas = [json.loads((out / a["checkpoint"] / "lmkbench.json").read_text()) for a in rec["arms"]]
    # one matched experiment: same data, seed, steps and hyper-parameters for every arm
    for key in ("data", "seed", "steps", "hyperparameters", "base"):
        assert all(m[key] == metas[0][key] for m in metas), key
    # every checkpoint was evaluated with its own (trained) pooling only
    per_ckpt = {(r.model, r.pooling) for r in iter_results(out / "results")}
    assert per_ckpt == {(a["name"], a["pooling"]) for a in rec["arms"]}
    assert all(r.meta.pooling_mismatch is False for r in iter_results(out / "results"))
    view = list(iter_results(out / "results_matched"))
    assert {r.model for r in view} == {rec["matched_label"]}
    assert sorted(r.pooling for r in view) == ["cls", "lmk:g=32", "mean"]
    assert {r.meta.get("matched_checkpoint") for r in view} == {a["name"] for a in rec["arms"]}
    assert {s["pooling"] for s in rec["summary"]} == {"cls", "mean", "lmk:g=32"}
    printed = capsys.readouterr().out
    assert "lmk:g=32" in printed and "results_matched" in printed

    # the statistics pair the matched arms as one model
    stats = pytest.importorskip("lmkbench.stats.compare")
    from lmkbench.train.matched import matched_results

    cmp = stats.compare(matched_results(out / "matched.json"), baseline="mean", min_n=2, n_resamples=200)
    pools = {r.pooling for r in cmp.rows}
    assert {"cls", "lmk:g=32"} <= pools

    # re-running reuses the finished checkpoints and result files
    assert main(args) == 0
    assert all(a["reused"] for a in json.loads((out / "matched.json").read_text())["arms"])


def test_train_matched_rejects_two_arms_with_one_evaluation_pooling(tiny_bert, tiny_beir, tmp_path, capsys):
    assert main(["train-matched", "--model", tiny_bert, "--poolings", "lmk,lmk:train_g=8+16", "--data",
                 f"beir:{tiny_beir}#test", "--out", str(tmp_path / "x"), *FAST]) == 2
    assert "same pooling (lmk:g=32)" in capsys.readouterr().err


def test_train_matched_evaluates_past_the_training_length_with_positions(tiny_bert, tiny_beir, tmp_path):
    """--eval-max-length and --positions apply to the evaluations; each result records the training lengths
    beside the evaluation length and positions, and the matched view keeps the setting in its label."""
    out = tmp_path / "exp"
    args = ["train-matched", "--model", tiny_bert, "--poolings", "mean,lmk:train_g=8+16", "--data",
            f"beir:{tiny_beir}#test", "--out", str(out), *FAST, "--eval-task", f"beir:{tiny_beir}", "--no-cache",
            "--allow-overlap", "--doc-max-length", "32", "--eval-max-length", "256", "--positions", "pi"]
    assert main(args) == 0
    results = list(iter_results(out / "results"))
    assert results and all(r.meta.get("positions") == "pi" and r.meta.max_length == 256 for r in results)
    assert all(r.meta.get("training_lengths", {}).get("document") == 32 for r in results)
    assert all(r.model.endswith("~pi-256") for r in results)
    view = list(iter_results(out / "results_matched"))
    assert sorted(r.pooling for r in view) == ["lmk:g=32", "mean"]
    assert {r.model for r in view} == {json.loads((out / "matched.json").read_text())["matched_label"] + "~pi-256"}
