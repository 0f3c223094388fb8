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
                     "baseline_cut": base_row[0].share_truncated if base_row else None,
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


def answers(cmp: Comparison) -> list[dict[str, Any]]:
    """One sentence per comparison (a model's pooling against the baseline): where it wins or loses over all
    items, at which lengths (length buckets with a mark), and how sure (the largest adjusted p behind a mark;
    the range of differences the unmarked tasks could have detected at 80% power). In task order."""
    from ..order import task_order

    base = cmp.settings["baseline"]
    by: dict[tuple[str, str], dict[str, Any]] = {}
    untrained = {(g.model, p) for g in cmp.groups for p in g.untrained}
    for r in sorted(cmp.rows, key=lambda r: task_order(r.task)):
        if r.is_baseline or r.pooling == base or r.axis not in (bk.ALL, "length"):
            continue
        a = by.setdefault((r.model, r.pooling), {"model": r.model, "pooling": r.pooling, "baseline": base,
                                                 "untrained": (r.model, r.pooling) in untrained, "win": [],
                                                 "loss": [], "quiet": [], "mde": [], "p_adj": [],
                                                 "lengths": {"win": {}, "loss": {}}})
        if r.axis == "length":
            if r.mark:
                a["lengths"][r.mark].setdefault(r.bucket, (r.lo or 0.0, []))[1].append(r.task)
            continue
        if r.mark:
            a[r.mark].append(r.task)
            a["p_adj"].append(r.p_adj)
        elif r.p is not None:
            a["quiet"].append(r.task)
            if r.mde is not None:
                a["mde"].append(r.mde)
    out = []
    for a in by.values():
        a["text"] = _sentence(a)
        out.append(a)
    return out


def _sentence(a: dict[str, Any]) -> str:
    def tasks(names: list[str]) -> str:
        return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")

    n = len(a["win"]) + len(a["loss"]) + len(a["quiet"])
    if a["win"] or a["loss"]:
        said = [f"{word} on {len(a[side])} of {n} tasks ({tasks(a[side])})" if a[side] else f"{word} on none"
                for side, word in (("loss", "worse"), ("win", "better"))]
    else:
        said = [f"no significant difference on any of {n} tasks"]
    text = ", ".join(said)
    by_length = []
    for side, word in (("win", "better"), ("loss", "worse")):
        found = sorted(a["lengths"][side].items(), key=lambda kv: kv[1][0])
        if found:
            by_length.append(f"{word} at " + ", ".join(f"{b} ({len(t)} task{'s' if len(t) > 1 else ''})"
                                                      for b, (_, t) in found))
    if by_length:
        text += "; by document length: " + "; ".join(by_length)
    text += "."
    if a["p_adj"]:
        text += f" Every mark at adjusted p ≤ {max(a['p_adj']):.2g}."
    if a["quiet"] and a["mde"]:
        other = f"the other {len(a['quiet'])} tasks" if a["win"] or a["loss"] else "these tasks"
        lo, hi = f"{min(a['mde']):.3f}", f"{max(a['mde']):.3f}"
        text += (f" On {other}, only differences of {lo if lo == hi else f'{lo}–{hi}'} or more would have been "
                 "detected (80% power).")
    return text
