"""The run summary at the top of a report, read from the ``meta`` of the result files.

Per task it counts texts *cut* to fit the model (``meta.truncated``: content lost) and texts *split* into
windows (``meta.split``: several windows, nothing lost; 0 for results written before the two were told
apart).

Wall time: the runner encodes each text set once for all poolings that a run computes and copies those
shared timings (``load_s``, ``encode_*_s``) into every pooling's result, while ``evaluate_s`` is per
pooling. So the time of a (task, model) is the sum over its *distinct* shared-timing sets (one per
``lmkbench run`` invocation that computed something) plus every pooling's own ``evaluate_s``.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable

from ..results import ResultRecord
from ..stats.select import canonical_pooling
from ..order import task_order


def _shared_timings(timings: dict) -> tuple:
    return tuple(sorted((k, v) for k, v in timings.items() if k != "evaluate_s" and isinstance(v, (int, float))))


def wall_time(records: Iterable[ResultRecord]) -> float | None:
    """Seconds spent on a set of results of one (task, model); None when none recorded timings."""
    shared, total, seen = set(), 0.0, False
    for rec in records:
        timings = rec.meta.timings
        if not timings:
            continue
        seen = True
        shared.add(_shared_timings(timings))
        ev = timings.get("evaluate_s")
        total += float(ev) if isinstance(ev, (int, float)) else 0.0
    if not seen:
        return None
    return total + sum(v for s in shared for _, v in s)


def _distinct(values: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if v is not None and v not in out:
            out.append(v)
    return out


def _flat(d: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _cut_by_pooling(recs: list[ResultRecord], n_texts: dict) -> dict[str, dict[str, dict]] | None:
    """Per pooling, per text set, texts cut: only where the poolings differ (lmk's landmarks take room: at one
    max length it may cut what mean reads whole), else None (the task's one count says it)."""
    per = {canonical_pooling(r.pooling): {s: (r.meta.truncated or {}).get(s, 0) for s in n_texts} for r in recs}
    if len({tuple(sorted(v.items())) for v in per.values()}) < 2:
        return None
    return {p: {s: {"n": t, "of": n_texts[s], "share": t / n_texts[s]} for s, t in cut.items()
                if isinstance(n_texts.get(s), int) and n_texts[s] > 0}
            for p, cut in sorted(per.items())}


def summarise(records: list[ResultRecord]) -> dict[str, Any]:
    """Models, poolings, tasks, hardware, versions and wall times of a set of results."""
    metas = [rec.meta for rec in records]
    models = []
    for model in sorted({r.model for r in records}):
        recs = [r for r in records if r.model == model]
        ms = [r.meta for r in recs]
        models.append({
            "name": model,
            "paths": _distinct(m.get("model_path") for m in ms),
            "poolings": sorted({canonical_pooling(r.pooling) for r in recs}),
            "trained_pooling": _distinct(m.get("trained_pooling") for m in ms),
            "settings": {k: _distinct(m.get(k) for m in ms) for k in ("device", "dtype", "max_length", "position_limit", "positions",
                                                                "long_policy")},
        })
    tasks = []
    by_tm: dict[tuple[str, str], list[ResultRecord]] = defaultdict(list)
    for r in records:
        by_tm[(r.task, r.model)].append(r)
    for (task, model), recs in sorted(by_tm.items(), key=lambda kv: (task_order(kv[0][0]), kv[0][1])):
        m0 = recs[0].meta
        n_texts = m0.get("n_texts") or {}
        truncated = m0.get("truncated") or {}
        split = m0.get("split") or {}           # absent in results written before cut/split were told apart
        items = [len(r.items) for r in recs]
        trunc = {s: (truncated.get(s, 0), n) for s, n in n_texts.items() if isinstance(n, int) and n > 0}
        splits = {s: (split.get(s, 0) if isinstance(split, dict) else 0, n) for s, n in n_texts.items()
                  if isinstance(n, int) and n > 0}
        tasks.append({
            "task": task, "model": model, "kind": recs[0].task_kind, "split": recs[0].split or "",
            "group": recs[0].task_group or "", "poolings": sorted(canonical_pooling(r.pooling) for r in recs),
            "n_items": max(items) if items else 0, "n_texts": n_texts,
            "truncated": {s: {"n": t, "of": n, "share": t / n} for s, (t, n) in trunc.items()},
            "truncated_by_pooling": _cut_by_pooling(recs, n_texts),
            "windowed": {s: {"n": t, "of": n, "share": t / n} for s, (t, n) in splits.items()},
            "long_policy": _distinct(r.meta.long_policy for r in recs),
            "wall_s": wall_time(recs), "source": m0.get("lmkbench_task_source") or "",
            "license": m0.get("license") or "",
        })
    versions: dict[str, list[str]] = {}
    for m in metas:
        for k, v in (m.get("versions") or {}).items():
            versions.setdefault(k, [])
            if v not in versions[k]:
                versions[k].append(v)
    hardware = _distinct(tuple(sorted(_flat(m.get("hardware") or {}).items())) for m in metas)
    created = sorted(c for c in (m.get("created") for m in metas) if isinstance(c, str))
    walls = [t["wall_s"] for t in tasks if t["wall_s"] is not None]
    return {
        "n_results": len(records), "models": models, "tasks": tasks,
        "poolings": sorted({canonical_pooling(r.pooling) for r in records}),
        "versions": versions, "hardware": [dict(h) for h in hardware if h],
        "git": _distinct(m.get("git_commit") for m in metas),
        "created": (created[0], created[-1]) if created else None,
        "wall_s": sum(walls) if walls else None,
    }
