"""The summary at the top of the report: task × pooling Δ matrix and Δ against document length.

Both are read off the one :class:`~lmkbench.stats.Comparison` (bucket ``all`` for the matrix, the length
buckets for the figure), so they agree with every table below them and with ``lmkbench compare``.
"""
from __future__ import annotations

from typing import Any

from ..stats import buckets as bk
from ..stats.comparison import Comparison
from .collect import Section


def delta_matrix(sections: list[Section], cmp: Comparison) -> dict[str, Any]:
    """Rows: every tested (task, model) in report order; columns: the poolings other than the baseline.
    Each cell: Δ (pooling − baseline) over all items with its CI, mark, adjusted p, n pairs and MDE."""
    base = cmp.settings["baseline"]
    order = [(t, s.model, s) for s in sections for t in s.tasks]
    groups = {(g.task, g.model): g for g in cmp.groups}
    poolings = [p for p in dict.fromkeys(p for g in cmp.groups for p in g.poolings) if p != base]
    rows = []
    for task, model, sec in order:
        g = groups.get((task, model))
        if g is None:
            continue
        cells = {}
        for p in poolings:
            found = cmp.select(task=task, model=model, pooling=p, bucket=bk.ALL)
            cells[p] = found[0] if found else None
        base_row = cmp.select(task=task, model=model, pooling=base, bucket=bk.ALL)
        rows.append({"task": task, "model": model, "anchor": sec.anchor, "metric": g.metric,
                     "main_metric": g.main_metric, "baseline_mean": base_row[0].mean if base_row else None,
                     "cells": [cells[p] for p in poolings], "untrained": g.untrained})
    return {"poolings": poolings, "rows": rows,
            "untrained": sorted({p for g in cmp.groups for p in g.untrained}),
            "multi_model": len({g.model for g in cmp.groups}) > 1}


def delta_by_length(sections: list[Section], cmp: Comparison) -> dict[str, Any] | None:
    """Per non-baseline pooling, per section: Δ in each length bucket (pooled over a synthetic family's
    tasks, weighted by pairs). Returns the bucket labels and ``{pooling: {section title: [point | None]}}``
    with points ``{"diff", "n", "marked", "small"}``; None when no section has two length buckets."""
    base = cmp.settings["baseline"]
    min_n = cmp.settings.get("min_n", 0)
    edges = [bk.INF if e is None else float(e) for e in cmp.settings["edges"]]
    labels = [b.label for b in bk.length_buckets(edges)]
    out: dict[str, dict[str, list]] = {}
    used: set[int] = set()
    for sec in sections:
        for row in cmp.rows:
            if row.task not in sec.tasks or row.model != sec.model or row.axis != "length" or row.is_baseline \
                    or row.pooling == base or row.mean_diff is None or row.n_paired == 0:
                continue
            j = labels.index(row.bucket)
            line = out.setdefault(row.pooling, {}).setdefault(sec.title, [None] * len(labels))
            pt = line[j] or {"sum": 0.0, "n": 0, "marked": False}
            pt["sum"] += row.mean_diff * row.n_paired
            pt["n"] += row.n_paired
            pt["marked"] = pt["marked"] or row.mark is not None
            line[j] = pt
            used.add(j)
    if len(used) < 2:
        return None
    keep = sorted(used)
    series = {}
    for pooling, lines in out.items():
        series[pooling] = {}
        for title, pts in lines.items():
            series[pooling][title] = [None if pts[j] is None else
                                      {"diff": pts[j]["sum"] / pts[j]["n"], "n": pts[j]["n"],
                                       "marked": pts[j]["marked"], "small": pts[j]["n"] < min_n} for j in keep]
    return {"labels": [labels[j] for j in keep], "series": series}
