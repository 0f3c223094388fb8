"""The numbers of the report's tables: means with bootstrap CIs, joined with the Comparison's tests.

Every cell is a mean over per-item scores (queries, texts) with a 95% percentile-bootstrap CI of that mean
(:func:`lmkbench.stats.tests.bootstrap_ci`, seeded, so a report is reproducible). Significance against
the baseline is never recomputed here: marks, differences and adjusted p-values come from the one
:class:`~lmkbench.stats.Comparison`, so the report agrees with ``lmkbench compare``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import InputError
from ..results import ResultRecord
from ..stats import buckets as bk
from ..results import NoItemScores
from ..stats.comparison import Comparison
from ..stats.rows import Row
from ..stats.tests import bootstrap_ci
from .collect import Section

@dataclass
class Cell:
    """A mean with its CI, and (where the Comparison tested it) the test against the baseline."""

    mean: float | None
    lo: float | None = None
    hi: float | None = None
    n: int = 0
    mark: str | None = None          # "win" | "loss" | None
    diff: float | None = None        # mean difference to the baseline (from the Comparison)
    diff_lo: float | None = None
    diff_hi: float | None = None
    p: float | None = None
    p_adj: float | None = None
    note: str = ""
    best: bool = False
    n_better: int | None = None      # pairs above / equal to / below the baseline (from the Comparison)
    n_tied: int | None = None
    n_worse: int | None = None
    mde: float | None = None         # minimum detectable effect at the Comparison's power
    share_tied_topk: float | None = None
    share_near_tied_topk: float | None = None   # top-k decided by gaps below the numbers' resolution (Comparison)
    near_tie_k: int | None = None
    equivalent: bool | None = None   # the equivalence test (TOST against ±margin), from the Comparison
    tost_low: float | None = None
    tost_high: float | None = None
    small: bool = False              # fewer pairs than the Comparison's min_n: not tested
    cut: float | None = None         # share of the items whose text was cut (content lost), from the Comparison

    @property
    def tested(self) -> bool:
        return self.p_adj is not None


def numbers(values) -> np.ndarray:
    out = []
    for v in values:
        if isinstance(v, bool):
            out.append(float(v))
        elif isinstance(v, (int, float)) and not math.isnan(float(v)):
            out.append(float(v))
    return np.asarray(out, dtype=float)


def mean_ci(values, *, confidence: float = 0.95, n_resamples: int = 2000, seed: int | None = 0) -> Cell:
    """Mean of the finite values with a percentile-bootstrap CI (``None`` bounds when there are none)."""
    arr = numbers(values)
    if arr.size == 0:
        return Cell(mean=None, n=0)
    lo, hi = bootstrap_ci(arr, confidence=confidence, n_resamples=n_resamples, seed=seed)
    return Cell(mean=float(arr.mean()), lo=lo, hi=hi, n=int(arr.size))


def with_test(cell: Cell, row: Row | None) -> Cell:
    if row is not None:          # the row's own ranking: its near ties, baseline included
        cell.share_near_tied_topk, cell.near_tie_k = row.share_near_tied_topk, row.near_tie_k
    if row is not None and not row.is_baseline:
        cell.mark, cell.diff, cell.diff_lo, cell.diff_hi = row.mark, row.mean_diff, row.ci_low, row.ci_high
        cell.p, cell.p_adj, cell.note = row.p, row.p_adj, row.note
        cell.n_better, cell.n_tied, cell.n_worse, cell.mde = row.n_better, row.n_tied, row.n_worse, row.mde
        cell.share_tied_topk = row.share_tied_topk
        cell.equivalent, cell.tost_low, cell.tost_high = row.equivalent, row.tost_low, row.tost_high
    return cell


def comparison_row(cmp: Comparison, task: str, model: str, pooling: str, bucket: str = bk.ALL) -> Row | None:
    found = cmp.select(task=task, model=model, pooling=pooling, bucket=bucket)
    return found[0] if found else None


def per_item_score_name(record: ResultRecord) -> str | None:
    """The per-item field that the main metric averages (as the Comparison tests it), or None."""
    try:
        return record.item_metric()
    except NoItemScores:
        return None
    except InputError:
        return None


def _mark_best(rows: list[dict], n_cols: int) -> None:
    for j in range(n_cols):
        cells = [r["cells"][j] for r in rows if r["cells"][j] is not None and r["cells"][j].mean is not None]
        if len(cells) > 1:
            top = max(c.mean for c in cells)
            for c in cells:
                c.best = c.mean == top


def tested_field(section: Section, cmp: Comparison) -> str:
    """The per-item score the Comparison tested for this section (``correct_rate`` for clustering), else the
    main metric."""
    group = next((g for g in cmp.groups if g.task in section.tasks and g.model == section.model), None)
    return group.metric if group is not None else section.main_metric


def metric_table(section: Section, cmp: Comparison, *, n_resamples: int = 2000, seed: int | None = 0,
                 confidence: float = 0.95) -> dict[str, Any]:
    """Pooling × metric of one task, every number under its own name.

    The first column is the main metric as stored (with a CI where it is the mean of per-item scores). When
    the Comparison tested another per-item score (clustering: V-measure exists only for the whole set, so
    ``correct_rate`` is tested), that score gets its own column, labelled as tested; the test against the
    baseline (overall bucket) sits on the tested column. Then every other stored metric."""
    task = section.tasks[0]
    recs = section.records[task]
    tested = tested_field(section, cmp)
    metrics: list[str] = [section.main_metric] + ([tested] if tested != section.main_metric else [])
    for p in section.poolings:
        for name in recs[p].metrics if p in recs else ():
            if name not in metrics:
                metrics.append(name)
    rows = []
    for p in section.poolings:
        rec = recs.get(p)
        cells: list[Cell | None] = []
        for metric in metrics:
            if rec is None:
                cells.append(None)
                continue
            values = [it.get(metric) for it in rec.items.values() if metric in it]
            if values:
                cell = mean_ci(values, confidence=confidence, n_resamples=n_resamples, seed=seed)
            else:
                cell = Cell(mean=rec.metrics.get(metric), n=0)
            if metric == tested:
                row = comparison_row(cmp, task, section.model, p)
                with_test(cell, row)
                cell.cut = row.share_truncated if row is not None else None
            cells.append(cell)
        rows.append({"pooling": p, "is_baseline": p == cmp.settings.get("baseline"), "cells": cells})
    _mark_best(rows, len(metrics))
    columns = [{"label": m, "main": m == section.main_metric, "tested": m == tested,
                "whole_set": m == section.main_metric and m != tested} for m in metrics]
    return {"columns": columns, "rows": rows, "tested": tested, "tested_index": metrics.index(tested)}


def family_table(section: Section, cmp: Comparison, *, n_resamples: int = 2000, seed: int | None = 0,
                 confidence: float = 0.95) -> dict[str, Any]:
    """Pooling × task of a synthetic family (one column per target length): the main metric with its CI and
    the Comparison's test of each task."""
    columns = []
    for task in section.tasks:
        lengths = {it.get("target_length") for r in section.records[task].values() for it in r.items.values()}
        lengths.discard(None)
        label = bk.format_edge(float(next(iter(lengths)))) if len(lengths) == 1 else task
        columns.append({"label": label, "task": task, "main": True})
    rows = []
    for p in section.poolings:
        cells: list[Cell | None] = []
        for task in section.tasks:
            rec = section.records[task].get(p)
            if rec is None:
                cells.append(None)
                continue
            field = per_item_score_name(rec) or section.main_metric
            values = [it.get(field) for it in rec.items.values()]
            cell = mean_ci(values, confidence=confidence, n_resamples=n_resamples, seed=seed)
            row = comparison_row(cmp, task, section.model, p)
            cell.cut = row.share_truncated if row is not None else None
            cells.append(with_test(cell, row))
        rows.append({"pooling": p, "is_baseline": p == cmp.settings.get("baseline"), "cells": cells})
    _mark_best(rows, len(columns))
    return {"columns": columns, "rows": rows}


def bucket_table(section: Section, cmp: Comparison) -> dict[str, Any] | None:
    """Pooling × length bucket of the Comparison (mean, n, difference and adjusted p per bucket); None when
    the task has at most one non-empty length bucket."""
    task = section.tasks[0]
    group = next((g for g in cmp.groups if g.task == task and g.model == section.model), None)
    if group is None:
        return None
    buckets = [b for b in group.buckets if b["axis"] != bk.ALL]
    if len([b for b in buckets if b["axis"] == "length"]) < 2:
        return None
    columns = [{"label": b["label"], "axis": b["axis"]} for b in buckets]
    rows = []
    for p in group.poolings:
        cells = []
        for b in buckets:
            row = comparison_row(cmp, task, section.model, p, b["label"])
            if row is None:
                cells.append(None)
                continue
            cell = with_test(Cell(mean=row.mean, n=row.n), row)
            cell.small = row.n < cmp.settings.get("min_n", 0)
            cells.append(cell)
        rows.append({"pooling": p, "is_baseline": p == group.baseline, "cells": cells})
    _mark_best(rows, len(columns))
    ns = []
    for j in range(len(columns)):
        counts = [r["cells"][j].n for r in rows if r["cells"][j] is not None]
        ns.append(max(counts) if counts else 0)
    return {"columns": columns, "rows": rows, "n": ns}


def score_field(section: Section, pooling: str) -> str | None:
    for task in section.tasks:
        rec = section.records[task].get(pooling)
        if rec is not None:
            name = per_item_score_name(rec)
            if name:
                return name
    return None


def series(section: Section, bins: Sequence[Callable[[dict], bool]], *, n_resamples: int = 2000,
           seed: int | None = 0, confidence: float = 0.95) -> dict[str, list[Cell]]:
    """For each pooling with per-item scores, the mean score with its CI over the items in each bin
    (``bins`` are predicates on a per-item record: a length bucket, a target length, a depth bin)."""
    out: dict[str, list[Cell]] = {}
    for p in section.poolings:
        field = score_field(section, p)
        if field is None:
            continue
        items = list(section.items(p).values())
        out[p] = [mean_ci([it.get(field) for it in items if inside(it)], confidence=confidence,
                          n_resamples=n_resamples, seed=seed) for inside in bins]
    return out


def depth_grids(section: Section, depth_bins: Sequence[bk.Bucket]):
    """Mean score per (target length, depth bin) for each pooling of a synthetic section.

    Returns ``(lengths, grids, counts)``: the sorted target lengths (rows), and per pooling an array
    ``[len(lengths), len(depth_bins)]`` of means (NaN where no item) and one of item counts. Items without a
    numeric score, target length or depth are left out."""
    def num(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(float(v))

    lengths = sorted({float(it["target_length"]) for p in section.poolings for it in section.items(p).values()
                      if num(it.get("target_length")) and num(it.get("depth"))})
    grids: dict[str, np.ndarray] = {}
    counts: dict[str, np.ndarray] = {}
    if not lengths:
        return lengths, grids, counts
    row = {v: i for i, v in enumerate(lengths)}
    for p in section.poolings:
        field = score_field(section, p)
        if field is None:
            continue
        total = np.zeros((len(lengths), len(depth_bins)))
        n = np.zeros_like(total)
        for it in section.items(p).values():
            v, t, d = it.get(field), it.get("target_length"), it.get("depth")
            if not (num(v) and num(t) and num(d)):
                continue
            j = next((k for k, b in enumerate(depth_bins) if b.contains(float(d))), None)
            if j is None:
                continue
            total[row[float(t)], j] += float(v)
            n[row[float(t)], j] += 1
        with np.errstate(invalid="ignore", divide="ignore"):
            grids[p] = np.where(n > 0, total / np.maximum(n, 1), np.nan)
        counts[p] = n
    return lengths, grids, counts


def read_limits(section: Section) -> tuple[int | None, str, int | None]:
    """What bounds how much of a text a section's results read: the max length (``meta.max_length``, the
    smallest over its results: texts beyond it are cut or windowed), the long-text policy, and the model's
    position limit (``meta.position_limit``: past it only a positions method reads on). Two different limits:
    MiniLM reads 256 tokens as shipped but has 512 positions."""
    limits, policies, positions = set(), set(), set()
    for task in section.tasks:
        for rec in section.records[task].values():
            if rec.meta.max_length is not None:
                limits.add(rec.meta.max_length)
            if rec.meta.long_policy:
                policies.add(rec.meta.long_policy)
            if isinstance(rec.meta.get("position_limit"), int):
                positions.add(rec.meta.get("position_limit"))
    return (min(limits) if limits else None), ", ".join(sorted(policies)), (min(positions) if positions else None)


def needle_beyond_limit(item: dict, limit: int | None) -> bool:
    """The item's needle sits past the max length ``limit`` and its text was cut there (content lost): such an
    item measures truncation, not pooling. Texts split into windows (nothing cut) never count."""
    if limit is None or not (item.get("truncated") is True or item.get("truncated") == 1):
        return False
    depth, size = item.get("depth"), item.get("doc_tokens", item.get("target_length"))
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (depth, size)):
        return False
    return float(depth) * float(size) >= limit


def beyond_grids(section: Section, depth_bins: Sequence[bk.Bucket], lengths: Sequence[float],
                 limit: int | None) -> dict[str, np.ndarray]:
    """Per pooling, (target length × depth bin) cells whose every item has its needle beyond the limit."""
    row = {float(v): i for i, v in enumerate(lengths)}
    out = {}
    for p in section.poolings:
        total = np.zeros((len(lengths), len(depth_bins)))
        past = np.zeros_like(total)
        for it in section.items(p).values():
            t, d = it.get("target_length"), it.get("depth")
            if not isinstance(t, (int, float)) or not isinstance(d, (int, float)) or float(t) not in row:
                continue
            j = next((k for k, b in enumerate(depth_bins) if b.contains(float(d))), None)
            if j is None:
                continue
            total[row[float(t)], j] += 1
            past[row[float(t)], j] += needle_beyond_limit(it, limit)
        out[p] = (total > 0) & (past == total)
    return out
