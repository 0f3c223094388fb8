"""train-matched --seeds: every arm once per seed (the arms of a seed on the same batches), per-seed models and
matched views, and each Δ's spread across seeds in matched.json."""
from __future__ import annotations

import json
import statistics

import pytest

from lmkbench.cli import main
from lmkbench.results import iter_results
from lmkbench.train.matched import seed_deltas

FAST = ["--steps", "2", "--batch-size", "4", "--lr", "1e-3", "--query-max-length", "16", "--doc-max-length", "32",
        "--device", "cpu", "--quiet", "--no-cache", "--allow-overlap"]


def test_seeds_train_every_arm_per_seed_and_record_the_spread(tiny_bert, tiny_beir, tmp_path, capsys):
    out = tmp_path / "exp"
    assert main(["train-matched", "--model", tiny_bert, "--poolings", "cls,mean", "--data", f"beir:{tiny_beir}#test",
                 "--out", str(out), *FAST, "--eval-task", f"beir:{tiny_beir}", "--seeds", "0,1,2"]) == 0
    rec = json.loads((out / "matched.json").read_text())
    assert rec["seeds"] == [0, 1, 2] and rec["settings"]["seed"] == [0, 1, 2]
    assert [(a["pooling"], a["seed"]) for a in rec["arms"]] == [(p, s) for s in (0, 1, 2) for p in ("cls", "mean")]
    metas = {a["name"]: json.loads((out / a["checkpoint"] / "lmkbench.json").read_text()) for a in rec["arms"]}
    assert len(metas) == 6 and all(m["seed"] == a["seed"] for a, m in zip(rec["arms"], metas.values()))
    curves = {(a["pooling"], a["seed"]): metas[a["name"]]["loss_curve"] for a in rec["arms"]}
    assert curves[("mean", 0)] != curves[("mean", 1)]                   # another seed: another run
    labels = {r.model for r in iter_results(out / "results_matched")}
    assert labels == set(rec["matched_labels"].values()) and len(labels) == 3
    (d,) = rec["deltas"]                                                 # one task, cls against mean
    assert d["pooling"] == "cls" and d["baseline"] == "mean" and d["n_seeds"] == 3
    assert d["evaluation"] == "as-trained"
    scores = {(a["pooling"], a["seed"]): a["evaluations"]["as-trained"][d["task"]] for a in rec["arms"]}
    want = [scores[("cls", s)] - scores[("mean", s)] for s in (0, 1, 2)]
    assert list(d["per_seed"].values()) == pytest.approx(want)
    assert d["mean"] == pytest.approx(statistics.fmean(want)) and d["sd"] == pytest.approx(statistics.stdev(want))
    assert d["min"] == pytest.approx(min(want)) and d["max"] == pytest.approx(max(want))
    assert d["within_noise"] is (max(want) - min(want) >= abs(statistics.fmean(want)))
    assert "over seeds 0:" in capsys.readouterr().out


def test_the_arms_of_one_seed_see_the_same_batches(tiny_bert, tiny_beir, tmp_path, monkeypatch):
    from lmkbench.train import trainer

    seen: dict[tuple, list] = {}
    original = trainer.BatchPlan.indices

    def spy(self, step):
        got = original(self, step)
        seen.setdefault(self.seed, []).append(tuple(got))
        return got

    monkeypatch.setattr(trainer.BatchPlan, "indices", spy)
    assert main(["train-matched", "--model", tiny_bert, "--poolings", "cls,mean", "--data", f"beir:{tiny_beir}#test",
                 "--out", str(tmp_path / "e"), *FAST, "--seeds", "3,4"]) == 0
    for seed in (3, 4):
        cls_order, mean_order = seen[seed][:2], seen[seed][2:]
        assert cls_order == mean_order
    assert seen[3] != seen[4]


def test_seed_deltas_by_hand():
    arms = [{"pooling": p, "seed": s, "evaluations": {"512": {"t": v}, "pi-4096": {"t": v - w}}}
            for p, s, v, w in [("mean", 0, 0.5, 0.1), ("lmk", 0, 0.6, 0.0), ("mean", 1, 0.4, 0.0), ("lmk", 1, 0.45, 0.2)]]
    d, e = seed_deltas(arms)
    assert d["evaluation"] == "512" and d["per_seed"] == pytest.approx({"0": 0.1, "1": 0.05})
    assert d["mean"] == pytest.approx(0.075) and d["sign_consistent"] is True
    assert d["within_noise"] is False                    # range 0.05 < 0.075
    assert e["evaluation"] == "pi-4096" and e["per_seed"] == pytest.approx({"0": 0.2, "1": -0.15})
    assert e["sign_consistent"] is False and e["within_noise"] is True


def test_a_second_evaluation_adds_to_matched_json(tiny_bert, tiny_beir, tmp_path):
    """Training is reused; the second call's evaluation (another length) is added, the first one kept."""
    out = tmp_path / "exp"
    common = ["train-matched", "--model", tiny_bert, "--poolings", "cls,mean", "--data", f"beir:{tiny_beir}#test",
              "--out", str(out), *FAST, "--eval-task", f"beir:{tiny_beir}", "--seeds", "0,1"]
    assert main(common + ["--eval-max-length", "32"]) == 0
    assert main(common + ["--eval-max-length", "24"]) == 0
    rec = json.loads((out / "matched.json").read_text())
    assert all(a["reused"] for a in rec["arms"])
    assert all(set(a["evaluations"]) == {"32", "24"} and set(a["eval_wall_s"]) == {"32", "24"} for a in rec["arms"])
    assert sorted(d["evaluation"] for d in rec["deltas"]) == ["24", "32"]
    labels = {r.model for r in iter_results(out / "results_matched")}
    assert labels == {f"{m}~{n}" for m in rec["matched_labels"].values() for n in (24, 32)}
    assert main(common + ["--eval-max-length", "24"]) == 0                # every cell found finished
    again = json.loads((out / "matched.json").read_text())
    assert [a["eval_wall_s"] for a in again["arms"]] == [a["eval_wall_s"] for a in rec["arms"]]


@pytest.mark.parametrize("bad", ["0,0", "-1", "a,b", ""])
def test_bad_seed_lists_are_parse_errors(bad, tmp_path, capsys):
    assert main(["train-matched", "--model", "x", "--data", "x.jsonl", "--out", str(tmp_path), "--seeds", bad]) == 2
    assert "argument --seeds" in capsys.readouterr().err


def test_results_of_an_earlier_checkpoint_are_left_out(tiny_bert, tiny_beir, tmp_path, capsys):
    """A checkpoint changed after an evaluation: that evaluation's cells are not the arm's any more, so
    matched.json and results_matched leave them out (and say so) until the evaluation is run again."""
    out = tmp_path / "exp"
    common = ["train-matched", "--model", tiny_bert, "--poolings", "cls,mean", "--data", f"beir:{tiny_beir}#test",
              "--out", str(out), *FAST, "--eval-task", f"beir:{tiny_beir}", "--seeds", "0,1"]
    assert main(common + ["--eval-max-length", "32"]) == 0
    config = out / "models" / "tiny_bert0-cls-s0" / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "note": "changed"}))
    assert main(common + ["--eval-max-length", "24"]) == 0
    rec = json.loads((out / "matched.json").read_text())
    arms = {a["name"]: a for a in rec["arms"]}
    assert set(arms["tiny_bert0-cls-s0"]["evaluations"]) == {"24"}            # its "32" cell is stale
    assert set(arms["tiny_bert0-mean-s0"]["evaluations"]) == {"24", "32"}
    view = {(r.model, r.pooling) for r in iter_results(out / "results_matched")}
    assert ("tiny_bert0-matched-s0~32", "cls") not in view and ("tiny_bert0-matched-s0~24", "cls") in view
    assert "left out, produced by an earlier tiny_bert0-cls-s0" in capsys.readouterr().out
    assert not [d for d in rec["deltas"] if d["evaluation"] == "32" and "0" in d["per_seed"]]
