"""Leaderboard table from hand-made results: ranks (checked with scipy + statsmodels), groups, CSV, HTML."""
from __future__ import annotations

import io
import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from lmkbench.leaderboard import build_leaderboard, render_html


def _rec(task, model, pooling, scores, group="short-retrieval", metric="ndcg_at_10", kind="retrieval"):
    return {"task": task, "task_kind": kind, "task_group": group, "model": model, "pooling": pooling,
            "main_metric": metric, "metrics": {metric: float(np.mean(scores))},
            "per_query": {f"q{i}": {metric: float(s), "length": 5} for i, s in enumerate(scores)}}


@pytest.fixture()
def records():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.2, 0.8, 60)
    shift = {"cls": -0.15, "mean": 0.0, "lmk:g=32": 0.004}
    recs = []
    for task, group in (("short1", "short-retrieval"), ("long1", "long-retrieval"), ("syn1", "synthetic")):
        for p, d in shift.items():
            recs.append(_rec(task, "m", p, np.clip(base + d + rng.normal(0, 0.01, 60), 0, 1), group))
    return recs


def _expected_ranks(scores: dict[str, np.ndarray], alpha=0.05):
    """The documented rule by hand: 1 + #significantly better (paired t, Holm over all pairs), monotone in mean."""
    names = sorted(scores)
    pairs = list(itertools.combinations(names, 2))
    p = [stats.ttest_rel(scores[a], scores[b]).pvalue for a, b in pairs]
    adj = multipletests(p, method="holm")[1]
    better = {s: 0 for s in names}
    for (a, b), q in zip(pairs, adj):
        if q < alpha:
            loser = b if scores[a].mean() > scores[b].mean() else a
            better[loser] += 1
    out, floor = {}, 1
    for s in sorted(names, key=lambda s: -scores[s].mean()):
        floor = max(floor, 1 + better[s])
        out[s] = floor
    return out


def test_per_task_ranks_follow_the_documented_rule(records):
    lb = build_leaderboard(records)
    for task in ("short1", "long1", "syn1"):
        scores = {f"m | {r['pooling']}": np.array([v["ndcg_at_10"] for v in r["per_query"].values()])
                  for r in records if r["task"] == task}
        want = _expected_ranks(scores)
        got = {row.system: row.task_ranks[task] for row in lb.rows}
        assert got == want
    # cls is clearly worse everywhere; mean and lmk (+0.004) are not separable on 60 queries
    ranks = {r.pooling: r.task_ranks["short1"] for r in lb.rows}
    assert ranks["cls"] == 3 and ranks["mean"] == ranks["lmk:g=32"] == 1


def test_means_groups_and_overall_rank(records):
    lb = build_leaderboard(records)
    assert lb.groups == ["short-retrieval", "long-retrieval", "synthetic"]
    row = next(r for r in lb.rows if r.pooling == "mean")
    by_task = {r["task"]: r["metrics"]["ndcg_at_10"] for r in records if r["pooling"] == "mean"}
    assert row.mean == pytest.approx(np.mean(list(by_task.values())))
    assert row.groups == pytest.approx({"short-retrieval": by_task["short1"], "long-retrieval": by_task["long1"],
                                        "synthetic": by_task["syn1"]})
    # overall: three tasks as items, paired t-test over tasks with Holm, the same rule
    overall = {f"m | {p}": np.array([next(r["metrics"]["ndcg_at_10"] for r in records if r["task"] == t and r["pooling"] == p)
                                     for t in ("long1", "short1", "syn1")]) for p in ("cls", "mean", "lmk:g=32")}
    assert {r.system: r.rank for r in lb.rows} == _expected_ranks(overall)
    assert [r.rank for r in lb.rows] == sorted(r.rank for r in lb.rows)


def test_single_task_uses_the_task_rank_and_missing_cells_are_kept(records):
    only = [r for r in records if r["task"] == "short1"]
    lb = build_leaderboard(only, missing=["short1/m/multicls:g=32"])
    assert {r.pooling: r.rank for r in lb.rows} == {r.pooling: r.task_ranks["short1"] for r in lb.rows}
    assert lb.rows[-1].pooling == "cls" and lb.missing == ["short1/m/multicls:g=32"]


def test_incomplete_system_is_noted_and_ranked_on_common_tasks(records):
    partial = [r for r in records if not (r["pooling"] == "cls" and r["task"] == "syn1")]
    lb = build_leaderboard(partial)
    cls = next(r for r in lb.rows if r.pooling == "cls")
    assert cls.n_tasks == 2 and "syn1" not in cls.scores
    assert any("lack some tasks" in n for n in lb.notes)


def test_group_override_and_kind_fallback():
    recs = [_rec("a", "m", p, [0.5, 0.6, 0.7], group="") for p in ("cls", "mean")]
    recs += [_rec("c", "m", p, [1, 0, 1, 1], group="", metric="accuracy", kind="classification") for p in ("cls", "mean")]
    for r in recs[2:]:
        r["per_item"] = {k: {"correct": v["accuracy"]} for k, v in r.pop("per_query").items()}
    lb = build_leaderboard(recs, groups={"a": "long-retrieval"})
    assert {t.name: t.group for t in lb.tasks} == {"a": "long-retrieval", "c": "classification"}
    assert all(t.ranked for t in lb.tasks)


def test_csv_columns_and_values(records):
    lb = build_leaderboard(records)
    df = pd.read_csv(io.StringIO(lb.to_csv()))
    assert list(df.columns[:5]) == ["rank", "model", "pooling", "mean", "n_tasks"]
    assert {"group:short-retrieval", "group:long-retrieval", "group:synthetic", "short1", "short1:rank"} <= set(df.columns)
    assert len(df) == 3 and df["rank"].is_monotonic_increasing
    mean_row = df[df.pooling == "mean"].iloc[0]
    want = next(r["metrics"]["ndcg_at_10"] for r in records if r["task"] == "long1" and r["pooling"] == "mean")
    assert mean_row["long1"] == pytest.approx(want, abs=1e-6)


def test_html_is_self_contained_escaped_and_sortable(records):
    records[0]["model"] = "<script>alert(1)</script>"
    lb = build_leaderboard(records, title="A & B <leaderboard>")
    page = render_html(lb)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "A &amp; B &lt;leaderboard&gt;" in page
    assert "addEventListener(\"click\"" in page and page.count("<script>") == 1
    assert "http://" not in page and "https://" not in page and "<link" not in page
    for g in ("Short retrieval", "Long retrieval", "Synthetic long-context"):
        assert g in page
    assert page.count("<tr>") == 1 + len(lb.rows)
    assert not any(math.isnan(r.mean) for r in lb.rows)


def test_untrained_poolings_are_flagged(records):
    for rec in records:
        rec["meta"] = {"trained_pooling": "mean", "pooling_mismatch": rec["pooling"] != "mean"}
    lb = build_leaderboard(records)
    flags = {r.pooling: (r.untrained, r.trained_pooling) for r in lb.rows}
    assert flags == {"mean": (False, "mean"), "cls": (True, "mean"), "lmk:g=32": (True, "mean")}
    note = next(n for n in lb.notes if "not the pooling the checkpoint was trained with" in n)
    assert "m | cls (trained with mean)" in note and "train-matched" in note
    html = render_html(lb)
    assert html.count("&#9888; not trained pooling") == 2
    assert list(lb.to_dataframe().query("untrained")["pooling"].sort_values()) == ["cls", "lmk:g=32"]
    for rec in records:
        rec.pop("meta")
    assert not any(r.untrained for r in build_leaderboard(records).rows)
