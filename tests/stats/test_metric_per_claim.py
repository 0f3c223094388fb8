"""Issue 30 item 3: one metric per claim. A clustering task's headline V-measure exists only for the whole set, so
compare tests the per-item correct_rate; matched.json's deltas are differences of the whole-set scores. Every
Δ names its metric wherever it is written or shown, and the two are never read as one."""
from __future__ import annotations

import numpy as np
import pytest

from lmkbench.results import write_result
from lmkbench.stats.compare import compare
from lmkbench.train.matched import seed_deltas


def _clustering(model, pooling, rates, seed):
    per_item = {f"x{i}": {"correct_rate": float(r), "correct": int(r > 0.5), "length": 100, "truncated": False}
                for i, r in enumerate(rates)}
    return {"task": "clu", "task_kind": "clustering", "split": "test", "model": model, "pooling": pooling,
            "main_metric": "v_measure", "metrics": {"v_measure": 0.6}, "per_item": per_item,
            "meta": {"matched_seed": seed}}


@pytest.fixture
def two_seeds(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "r"
    for seed in (0, 1):
        base = rng.uniform(0.3, 0.9, 40)
        for pooling, shift in (("mean", 0.0), ("cls", 0.02 * (seed + 1))):
            write_result(root, _clustering(f"e-s{seed}", pooling, np.clip(base + shift, 0, 1), seed))
    return root


def test_the_spread_names_the_tested_score_and_the_whole_set_metric(two_seeds):
    cmp = compare(two_seeds, baseline="mean", min_n=2)
    (s,) = [s for s in cmp.seed_spread if s.bucket == "all"]
    assert (s.metric, s.main_metric) == ("correct_rate", "v_measure")
    assert cmp.to_dict()["seed_spread"][0]["main_metric"] == "v_measure"
    noise = cmp.to_table().split("== training noise")[1]
    assert "correct_rate (main: v_measure)" in noise and "Each Δ is in the units of its metric" in noise
    summary = cmp.to_table(layout="summary")
    assert summary.count("correct_rate (main: v_measure)") == 3          # two seeds' rows, the spread's row
    assert "in the tested metric" in summary


def test_matched_deltas_name_the_whole_set_metric():
    arms = [{"pooling": p, "seed": s, "evaluations": {"512": {"clu": v, "t": v / 2}}}
            for p, s, v in [("mean", 0, 0.6), ("cls", 0, 0.5), ("mean", 1, 0.7), ("cls", 1, 0.75)]]
    got = {d["task"]: d for d in seed_deltas(arms, metrics={"clu": "v_measure", "t": "ndcg_at_10"})}
    assert got["clu"]["metric"] == "v_measure" and got["t"]["metric"] == "ndcg_at_10"
    assert (got["clu"]["n_le_0"], got["clu"]["n_ge_0"]) == (1, 1)       # the tilt, from the one rule (spread_of)
    assert seed_deltas(arms)[0]["metric"] is None                      # not given: said, not guessed
