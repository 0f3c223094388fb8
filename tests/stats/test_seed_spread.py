"""Training noise in compare: a matched experiment's Δs per seed, their spread, and the 'within training noise'
reading, in compare's JSON, its table and the report."""
from __future__ import annotations

import json
import statistics

import pytest

from lmkbench.cli import main
from lmkbench.stats.compare import compare
from lmkbench.stats.rows import Row
from lmkbench.stats.seeds import BEYOND, SIGNIFICANT, WITHIN, experiment_label, seed_spread

FAST = ["--steps", "2", "--batch-size", "4", "--lr", "1e-3", "--query-max-length", "16", "--doc-max-length", "32",
        "--device", "cpu", "--quiet", "--no-cache", "--allow-overlap"]


def _row(model, pooling, diff, mark=None, base=False):
    return Row(task="t", model=model, pooling=pooling, is_baseline=base, metric="ndcg_at_10", bucket="all",
               axis="all", lo=None, hi=None, n=10, n_truncated=0, share_truncated=0.0, mean=0.5,
               mean_diff=None if base else diff, ci_low=None if base else diff - 0.01,
               ci_high=None if base else diff + 0.01, mark=mark, mde=0.02, n_paired=10)


def test_experiment_label_drops_only_the_seed():
    assert experiment_label("m-matched-s1~pi-4096", 1) == "m-matched~pi-4096"
    assert experiment_label("m-matched-s1", 1) == "m-matched"
    assert experiment_label("m-matched-s1", 2) is None and experiment_label("m-matched", None) is None


def test_spread_by_hand():
    rows = [_row("e-s0", "mean", None, base=True), _row("e-s1", "mean", None, base=True),
            _row("e-s0", "cls", 0.10, "win"), _row("e-s1", "cls", 0.06, "win"),        # range .04 < .08
            _row("e-s0", "lmk", 0.05, "win"), _row("e-s1", "lmk", -0.01),              # signs differ
            _row("e-s0", "x", 0.10, "win"), _row("e-s1", "x", 0.09)]                   # beyond, one seed marked
    got = {s.pooling: s for s in seed_spread(rows, {"e-s0": 0, "e-s1": 1})}
    assert set(got) == {"cls", "lmk", "x"}
    cls = got["cls"]
    assert cls.model == "e" and cls.baseline == "mean" and cls.seeds == [0, 1]
    assert cls.per_seed == {"0": 0.10, "1": 0.06} and cls.mean == pytest.approx(0.08)
    assert cls.sd == pytest.approx(statistics.stdev([0.10, 0.06])) and cls.within_noise is False
    assert cls.reading == SIGNIFICANT and cls.per_seed_ci["0"] == pytest.approx([0.09, 0.11])
    assert got["lmk"].within_noise is True and got["lmk"].reading == WITHIN
    assert got["x"].reading == BEYOND
    assert seed_spread(rows, {"e-s0": 0}) == []          # one seed: no spread


def test_compare_json_table_and_report_show_the_spread(tiny_bert, tiny_beir, tmp_path):
    out = tmp_path / "exp"
    assert main(["train-matched", "--model", tiny_bert, "--poolings", "cls,mean", "--data", f"beir:{tiny_beir}#test",
                 "--out", str(out), *FAST, "--eval-task", f"beir:{tiny_beir}", "--seeds", "0,1"]) == 0
    matched = json.loads((out / "matched.json").read_text())
    cmp = compare(out / "results_matched", baseline="mean")
    data = cmp.to_dict()
    (s,) = [s for s in data["seed_spread"] if s["bucket"] == "all"]
    rows = {r["model"]: r for r in data["rows"] if r["pooling"] == "cls" and r["bucket"] == "all"}
    assert s["model"] == "tiny_bert0-matched" and s["seeds"] == [0, 1]
    assert s["per_seed"] == pytest.approx({"0": rows["tiny_bert0-matched-s0"]["mean_diff"],
                                           "1": rows["tiny_bert0-matched-s1"]["mean_diff"]})
    (d,) = matched["deltas"]                               # the same Δs as matched.json's (whole-set scores)
    assert s["per_seed"] == pytest.approx(d["per_seed"]) and s["within_noise"] == d["within_noise"]
    assert "== training noise" in cmp.to_table() and "training noise" in cmp.to_table(layout="summary")
    assert main(["report", str(out / "results_matched"), "-o", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text()
    assert 'id="training-noise"' in html and "tiny_bert0-matched" in html


def test_the_matched_view_is_a_selection_over_the_arms(tiny_bert, tiny_beir, tmp_path):
    """Issue 27: the matched comparison, seed spread included, is a selection over the arms' own results
    (``--baseline 'model=*-mean-s*,pooling=mean'``), not a relabelled copy: the same Δs, p-values and spreads."""
    out = tmp_path / "exp"
    assert main(["train-matched", "--model", tiny_bert, "--poolings", "cls,mean", "--data", f"beir:{tiny_beir}#test",
                 "--out", str(out), *FAST, "--eval-task", f"beir:{tiny_beir}", "--seeds", "0,1"]) == 0
    view = compare(out / "results_matched", baseline="mean", min_n=2)
    sel = compare(out / "results", baseline="model=*-mean-s*,pooling=mean", min_n=2)
    printed = compare(out / "results", baseline="model=*,pooling=mean", min_n=2)   # what train-matched prints
    assert [(r.mean_diff, r.p_adj) for r in printed.rows] == [(r.mean_diff, r.p_adj) for r in sel.rows]
    old = sorted((r.task, experiment_label(r.model, r.model[-1]), r.bucket, r.mean_diff, r.p, r.p_adj)
                 for r in view.rows if not r.is_baseline)
    new = sorted((r.task, experiment_label(r.model, r.model[-1]), r.bucket, r.mean_diff, r.p, r.p_adj)
                 for r in sel.rows if not r.is_baseline)
    assert [o[2:] for o in old] == [n[2:] for n in new] and old
    spread = lambda cmp: sorted((s.bucket, tuple(s.per_seed.values()), s.reading) for s in cmp.seed_spread)  # noqa
    assert spread(view) == spread(sel) and spread(sel)
