"""The rows and groups of a :class:`~lmkbench.stats.comparison.Comparison`: plain data, no behaviour.

A leaf module: the comparison, its computation (:mod:`.compare`) and its console renderer (:mod:`.table`)
all read these shapes, and none of them imports another to get them. Field meanings: the JSON schema in
:mod:`lmkbench.stats.compare`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Row:
    """One pooling in one bucket of one (task, model): its own numbers, then its paired test against the
    baseline (empty for the baseline itself and for buckets too small to test), then reading aids."""

    task: str
    model: str
    pooling: str
    is_baseline: bool
    metric: str
    bucket: str
    axis: str                                 # "all" | "length" | "depth" | "length×depth"
    lo: float | None
    hi: float | None
    n: int
    n_truncated: int                          # texts cut to fit the model (content lost)
    share_truncated: float | None
    mean: float | None
    n_split: int = 0                          # texts encoded as several windows (nothing lost)
    share_split: float | None = None
    # pairing with the baseline
    n_paired: int = 0
    n_nan: int = 0
    n_unpaired: int = 0
    baseline_mean: float | None = None
    # the paired test (a PairedResult's fields), corrected within its family
    mean_diff: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_method: str | None = None
    test: str | None = None
    statistic: float | None = None
    p: float | None = None
    p_adj: float | None = None
    mark: str | None = None                   # "win" | "loss" | None
    note: str = ""
    family: str = ""
    family_size: int = 0
    # reading aids
    n_better: int | None = None
    n_tied: int | None = None
    n_worse: int | None = None
    mde: float | None = None                  # minimum detectable effect at the set power
    n_tied_topk: int | None = None
    share_tied_topk: float | None = None
    # the equivalence test (TOST) against ± the comparison's equivalence_margin, uncorrected
    tost_low: float | None = None             # the (1 - 2·alpha) CI of the difference, by the CI's method
    tost_high: float | None = None
    p_tost: float | None = None               # the larger one-sided p (t interval only)
    equivalent: bool | None = None            # tost_low > -margin and tost_high < +margin
    # near ties: queries whose top-k order is decided by score gaps below what the numbers resolve
    n_near_tied_topk: int | None = None
    share_near_tied_topk: float | None = None
    near_tie_k: int | None = None             # the depth read: the metric's cutoff (acc_at_1: 1), else topk
    near_tie_gap: float | None = None         # gaps at or below this count (the dtype's or the TREC file's)


@dataclass
class Group:
    """One (task, model) of a comparison: what was tested, in which buckets, and what the reader must know."""

    task: str
    task_kind: str
    split: str | None
    model: str
    metric: str
    baseline: str
    baseline_found: bool
    test: str
    poolings: list[str]
    buckets: list[dict[str, Any]]
    empty_buckets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    main_metric: str = ""
    trained_pooling: list[str] = field(default_factory=list)
    untrained: list[str] = field(default_factory=list)
