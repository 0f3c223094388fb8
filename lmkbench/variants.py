"""Settings side by side: one model under several encoder settings, paired query by query, and the LongEmbed profile.

A dense result is filed under its model label: the checkpoint's label, plus ``~variant`` when the run asked for
encoder settings other than the checkpoint's own (:func:`lmkbench.labels.label_for`: ``minilm`` = native positions at the
checkpoint's 256 tokens, ``minilm~pi-4096``, ``minilm~512``, ``minilm~windows``). The main
comparison pairs poolings inside one label. :func:`compare_settings` pairs *settings* instead: for every task,
base model and pooling, each variant against the base variant (as trained unless ``baseline`` names another),
through :func:`~lmkbench.stats.compare.compare` (same buckets, paired test, CI, correction and MDE), so
"minilm lmk, pi at 4096 vs minilm lmk, native 256" is one row per bucket.

:func:`longembed_profile` is the LongEmbed view: the synthetic tasks by length (passkey and needle, 256 …
32,768) and the long real tasks, one row per model label × pooling, with each cell's significance against the
run's baseline pooling, the position limit and max length marked, and LongEmbed's average where all six of its
tasks are present.
"""
from __future__ import annotations

import re
from typing import Any

from .format import MARKS, fmt_diff, grid
from .order import task_order
from .labels import AS_TRAINED, split_label, variant_name
from .results import ResultRecord
from .stats import buckets as bk
from .stats.compare import compare

#: LongEmbed's six tasks (Zhu et al. 2024) → lmkbench task-name patterns; passkey and needle average over lengths
LONGEMBED_TASKS = {"narrativeqa": r"narrativeqa", "qmsum": r"qmsum_longembed", "2wikimqa": r"2wikimqa",
                   "summscreenfd": r"summscreenfd", "passkey": r"passkey_\d+", "needle": r"needle_\d+"}
_SYNTHETIC = re.compile(r"^(passkey|needle|needle_pg)_(\d+)$")


def compare_settings(records: list[ResultRecord], *, baseline: str = "", **options) -> dict[str, Any] | None:
    """Each settings variant of a model against ``baseline`` (a variant name, default the base label), per task,
    pooling and bucket. Returns ``{"baseline", "columns", "rows": [{task, model, pooling, variant, cells}],
    "comparison"}`` or None when no model has two variants of one task and pooling."""
    dense = [r for r in records if r.pooling != "bm25" and r.meta.bm25 is None]
    groups: dict[tuple[str, str, str], list[ResultRecord]] = {}
    for r in dense:
        base, _ = split_label(r.model)
        groups.setdefault((r.task, base, r.pooling), []).append(r)
    want = baseline or AS_TRAINED
    lent = []
    for (task, base, pooling), members in groups.items():
        names = {variant_name(r.model) for r in members}
        if len(names) < 2 or want not in names:
            continue
        lent += members
    if not lent:
        return None
    # the variant is the arm: each (checkpoint, pooling) is one group, "minilm · cls", paired by settings
    cmp = compare(lent, baseline=f"variant={want}", **options)
    order: dict[str, tuple] = {}
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in cmp.rows:
        if r.is_baseline or (r.n == 0 and r.bucket != bk.ALL):
            continue
        order.setdefault(r.bucket, (r.bucket != bk.ALL, r.axis != "length", r.lo or 0.0))
        base, _, pooling = r.model.partition(" · ")
        row = rows.setdefault((r.task, r.model, r.pooling), {"task": r.task, "model": base, "pooling": pooling,
                                                             "variant": r.pooling, "cells": {}})
        row["cells"][r.bucket] = {"diff": r.mean_diff, "n": r.n_paired or r.n, "mark": r.mark, "p_adj": r.p_adj,
                                  "baseline": r.baseline_mean, "mean": r.mean, "mde": r.mde,
                                  "ci": [r.ci_low, r.ci_high]}
    columns = sorted(order, key=order.get)       # all, then length buckets, then depth bins, each ascending
    ordered = sorted(rows.values(), key=lambda r: (task_order(r["task"]), r["model"], r["pooling"], r["variant"]))
    return {"baseline": want, "columns": columns, "rows": ordered, "comparison": cmp}


def format_settings_table(data: dict[str, Any] | None) -> str:
    """Console rendering of :func:`compare_settings` (bucket ``all`` and the length buckets)."""
    if not data:
        return "(no model with two settings of one task and pooling)"
    cols = data["columns"]
    head = ["task", "model", "pooling", f"variant vs {data['baseline']}"] + cols
    body = []
    for r in data["rows"]:
        cells = []
        for c in cols:
            cell = r["cells"].get(c)
            if not cell or cell["diff"] is None:
                cells.append("–")
                continue
            mark = MARKS.get(cell["mark"] or "", "")
            cells.append(f"{fmt_diff(cell['diff'])}{' ' + mark if mark else ''} (n={cell['n']})")
        body.append([r["task"], r["model"], r["pooling"], r["variant"]] + cells)
    return "\n".join(grid(head, body)) + ("\n▲/▼: significant after correction (paired test, "
                             f"{data['comparison'].settings['test']}, {data['comparison'].settings['correction']}); "
                             "each cell is the variant's mean per-item difference to the baseline variant")


def longembed_profile(records: list[ResultRecord], cmp=None) -> dict[str, Any] | None:
    """Synthetic tasks by length and long real tasks, per model label × pooling (main metric, bucket all).

    ``cmp`` (the run's main :class:`~lmkbench.stats.comparison.Comparison`) adds each cell's win/loss against
    the baseline pooling. Returns ``{"columns": [{task, family, length, over_limit}], "rows": [{model, variant,
    pooling, position_limit, max_length, cells: {task: {value, mark}}, longembed_avg}], "longembed": {...}}`` or
    None without any synthetic or long task."""
    long_tasks = sorted({r.task for r in records if r.task_group in ("long-retrieval", "synthetic")
                         or _SYNTHETIC.match(r.task)}, key=task_order)
    if not long_tasks:
        return None
    marks = {}
    if cmp is not None:
        for row in cmp.rows:
            if row.bucket == bk.ALL and not row.is_baseline:
                marks[(row.task, row.model, row.pooling)] = row.mark
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for r in records:
        if r.task not in long_tasks:
            continue
        entry = rows.setdefault((r.model, r.pooling), {
            "model": r.model, "variant": variant_name(r.model), "pooling": r.pooling, "cells": {},
            "position_limit": r.meta.get("position_limit"), "max_length": r.meta.max_length,
            "long_policy": r.meta.long_policy,
            "positions": r.meta.get("positions", "native") if r.meta.bm25 is None else "–"})
        entry["cells"][r.task] = {"value": r.value, "metric": r.main_metric,
                                  "mark": marks.get((r.task, r.model, r.pooling))}
    columns = []
    for task in long_tasks:
        m = _SYNTHETIC.match(task)
        columns.append({"task": task, "family": m.group(1) if m else task, "length": int(m.group(2)) if m else None})
    present = {name for name, pat in LONGEMBED_TASKS.items() if any(re.fullmatch(pat, t) for t in long_tasks)}
    for entry in rows.values():
        entry["longembed_avg"] = _longembed_average(entry["cells"]) if present == set(LONGEMBED_TASKS) else None
    return {"columns": columns, "rows": sorted(rows.values(), key=lambda e: (e["model"], e["pooling"])),
            "longembed": {"present": sorted(present), "missing": sorted(set(LONGEMBED_TASKS) - present)}}


def _longembed_average(cells: dict[str, dict]) -> float | None:
    """LongEmbed's average: the mean over its six tasks, passkey and needle each first averaged over lengths."""
    per_task = []
    for pat in LONGEMBED_TASKS.values():
        values = [c["value"] for t, c in cells.items() if re.fullmatch(pat, t) and c["value"] is not None]
        if not values:
            return None
        per_task.append(sum(values) / len(values))
    return sum(per_task) / len(per_task)


def format_profile(profile: dict[str, Any] | None) -> str:
    """Console rendering of :func:`longembed_profile`: one line per model label × pooling; ``|`` marks where the
    synthetic length passes the row's max length (text cut) — ``*`` after a value: past the position limit."""
    if not profile:
        return "(no synthetic or long tasks)"
    cols = profile["columns"]
    names = [c["task"].replace("passkey_", "pk").replace("needle_pg_", "npg").replace("needle_", "nd")
             for c in cols]
    head = ["model", "pooling"] + names + ["LongEmbed avg"]
    body = []
    for r in profile["rows"]:
        vals = []
        for c in cols:
            cell = r["cells"].get(c["task"])
            if cell is None or cell["value"] is None:
                vals.append("–")
                continue
            longer = c["length"] is not None and r["max_length"] and c["length"] > r["max_length"]
            mark = MARKS.get(cell["mark"] or "", "")
            note = ("‡" if r["long_policy"] == "windows" else "†") if longer else ""
            vals.append(f"{cell['value']:.3f}{mark}{note}")
        avg = r["longembed_avg"]
        body.append([r["model"], r["pooling"]] + vals + ["–" if avg is None else f"{avg:.3f}"])
    out = grid(head, body)
    missing = profile["longembed"]["missing"]
    out.append("pkN / ndN / npgN: passkey / needle (BBC) / needle (Paul Graham) at N tokens; main metric; "
               "†: documents longer than the row's max length (cut); ‡: read as several windows (nothing cut); ▲/▼: significant win/loss against the "
               "baseline pooling (bucket all)")
    if missing:
        out.append(f"LongEmbed average: not shown, {len(missing)} of its 6 tasks absent ({', '.join(missing)})")
    return "\n".join(out)
