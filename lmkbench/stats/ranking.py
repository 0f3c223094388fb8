"""Significance-aware ranking for the leaderboard: systems whose difference is not significant share a rank.

Sorting systems by their mean score alone claims an order the data may not support. Here every pair of
systems is tested (paired, on the items all systems have scored) and the p-values of all ``k(k-1)/2`` pairs
are corrected together (Holm by default). Then:

    rank(s) = 1 + #{t : mean(t) > mean(s) and p_adj(s, t) < alpha}

i.e. one plus the number of systems *significantly better* than ``s`` (the "competition ranking" of
significance groups). The best system always has rank 1; systems no other system beats significantly
share rank 1; ranks may skip (1, 1, 3). Because significance is not transitive, that raw rank could put
a system above one with a higher mean; the final rank is made monotone in the mean order (walking down from
the highest mean, a rank is never smaller than the one before it), so the leaderboard order never
contradicts the means.

Items: for one task, the per-item scores (NDCG@10 per query, 0/1 per text, ...). For "mean over tasks"
(``rank_results(..., task=None)``) each task is one item and a system's score on it is the task's main
metric as reported in the result (``metrics[main_metric]``), so tasks count equally (a macro average);
with a handful of tasks such tests have little power and most systems will share a rank — which is the
honest answer.

The pairs are tested, corrected and decided by :func:`~lmkbench.stats.paired.run_paired` (one block: the test is
chosen once from every system's scores, McNemar's for 0/1 outcomes), as compare's rows and the gate's cells are.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import InputError, LmkbenchError
from ..results import ResultRecord, json_safe, load_results
from .select import canonical_pooling
from .paired import Block, Contrast, run_paired
from .settings import DEFAULTS, check_settings


@dataclass
class RankedSystem:
    system: str
    rank: int
    mean: float
    n: int
    significantly_better_than: list[str] = field(default_factory=list)
    significantly_worse_than: list[str] = field(default_factory=list)


@dataclass
class PairResult:
    a: str
    b: str
    mean_diff: float | None       # mean(a - b)
    ci_low: float | None
    ci_high: float | None
    test: str
    p: float | None
    p_adj: float | None = None


@dataclass
class Ranking:
    systems: list[RankedSystem]        # in leaderboard order (rank, then mean, then name)
    pairs: list[PairResult]
    settings: dict[str, Any]
    n_items: int                       # items every system has a score for
    n_dropped: int                     # items left out because some system lacks a (finite) score

    def rank_of(self, system: str) -> int:
        for s in self.systems:
            if s.system == system:
                return s.rank
        raise KeyError(system)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": "lmkbench.ranking/1", "settings": self.settings, "n_items": self.n_items,
                "n_dropped": self.n_dropped,
                "systems": [asdict(s) for s in self.systems],
                "pairs": [json_safe(asdict(p)) for p in self.pairs]}


def rank_systems(scores: Mapping[str, Mapping[str, float]], *, test: str = DEFAULTS["test"],
                 correction: str = DEFAULTS["correction"], alpha: float = DEFAULTS["alpha"],
                 seed: int | None = DEFAULTS["seed"], n_resamples: int = DEFAULTS["n_resamples"], min_n: int = 2,
                 binary_test: str | None = DEFAULTS["binary_test"]) -> Ranking:
    """Rank systems given ``{system: {item_id: score}}`` (greater is better); see the module docstring."""
    stats = check_settings("rank", test=test, correction=correction, alpha=alpha, min_n=min_n,
                           binary_test=binary_test)
    if not scores:
        raise LmkbenchError("no systems to rank")
    names = sorted(scores)
    all_ids = set().union(*(set(scores[s]) for s in names))
    common = sorted(i for i in all_ids
                    if all(i in scores[s] and scores[s][i] is not None and not math.isnan(float(scores[s][i]))
                           for s in names))
    block = Block({s: {i: float(scores[s][i]) for i in common} for s in names},
                  [Contrast(a, b) for a, b in combinations(names, 2)], what="rank: ")
    run_paired([block], stats, seed=seed, n_resamples=n_resamples)
    means = {s: float(np.mean(list(block.scores[s].values()))) if common else math.nan for s in names}
    pairs: list[PairResult] = []
    better: dict[str, list[str]] = {s: [] for s in names}   # better[s]: systems significantly better than s
    for o in block.outcomes:
        a, b = o.contrast.a, o.contrast.b
        ci = (o.result.ci_low, o.result.ci_high) if o.result is not None else (None, None)
        pairs.append(PairResult(a, b, o.mean_diff, *ci, block.test, o.p, o.p_adj))
        if o.decision.mark:
            winner, loser = (a, b) if o.decision.mark == "win" else (b, a)
            better[loser].append(winner)
    order = sorted(names, key=lambda s: (-means[s] if not math.isnan(means[s]) else math.inf, s))
    ranked, floor = [], 1
    for s in order:
        floor = max(floor, 1 + len(better[s]))
        worse = sorted(t for t in names if s in better[t])
        ranked.append(RankedSystem(s, floor, means[s], len(common), sorted(worse), sorted(better[s])))
    settings = {"test": block.test, "correction": stats.correction, "alpha": stats.alpha, "seed": seed,
                "n_resamples": n_resamples, "min_n": stats.min_n,
                "rule": "rank = 1 + #systems significantly better (adjusted p < alpha), monotone in mean"}
    return Ranking(ranked, pairs, settings, len(common), len(all_ids) - len(common))


def rank_results(results: list[ResultRecord] | str | Path, *, task: str | None = None, model: str | None = None,
                 metric: str | None = None, **kwargs) -> Ranking:
    """Rank the (model, pooling) systems of a results folder on one ``task`` (per-item scores) or, with
    ``task=None``, over tasks (one item per task: the main metric of each result). ``model`` restricts to
    one model. System names are the pooling strings, prefixed by ``model | `` when several models take part."""
    records = [r for r in load_results(results) if (model is None or r.model == model)
               and (task is None or r.task == task)]
    if not records:
        raise LmkbenchError(f"no results for task {task!r}" + (f", model {model!r}" if model else ""))
    several_models = len({r.model for r in records}) > 1

    def name(r):
        pooling = canonical_pooling(r.pooling)
        return f"{r.model} | {pooling}" if several_models else pooling

    scores: dict[str, dict[str, float]] = {}
    for r in records:
        table = scores.setdefault(name(r), {})
        if task is not None:
            m = r.item_metric(metric)
            table.update(zip(r.items, r.scores(r.items, m).tolist()))
        else:
            main = metric or r.main_metric
            v = r.metrics.get(main)
            if v is None:
                raise InputError(f"no numeric value for the main metric {main!r}", file=r.where, field="metrics")
            table[r.task] = v
    return rank_systems(scores, **kwargs)
