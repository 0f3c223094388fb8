"""Gain over BM25: each dense pooling/strategy against the task's BM25 cell, per bucket, with paired tests.

A BM25 cell (``--model bm25``, pooling ``bm25``) has its own model label, so the main comparison (per task and
model) never pairs it with a dense model. Here :func:`~lmkbench.stats.compare.compare` runs once more with the
lexical system as the baseline (the selector ``kind=lexical``: every dense system of a task against the task's
BM25 cell, one correction family per task): the same buckets (length, true or estimated depth), the same
paired test and CI. Shown only where a BM25 cell exists.
"""
from __future__ import annotations

from typing import Any

from ..results import ResultRecord, same_data
from ..stats import buckets as bk
from ..stats.compare import compare

LEXICAL = "bm25"
LEXICAL_KIND = "lexical"


def is_lexical_record(rec: ResultRecord) -> bool:
    return rec.pooling == LEXICAL or rec.meta.bm25 is not None


def gain_over_bm25(records: list[ResultRecord], *, test: str, correction: str, family: str, buckets, depth_buckets,
                   alpha: float, min_n: int, seed, n_resamples: int) -> dict[str, Any] | None:
    """``{"columns": [bucket labels], "rows": [{task, model, pooling, cells: {label: row}}], "settings"}`` or
    None when no task has both a BM25 cell and a dense cell."""
    lexical = {rec.task: rec for rec in records if is_lexical_record(rec)}
    dense = [rec for rec in records if not is_lexical_record(rec) and rec.task in lexical]
    if not dense:
        return None
    # lent only where the BM25 cell read the same data (synthetic tasks are sized in a tokenizer's tokens)
    same = {(r.task, r.model) for r in dense if same_data(r, lexical[r.task])}
    dense = [r for r in dense if (r.task, r.model) in same]
    if not dense:
        return None
    tasks = {task for task, _ in same}
    cmp = compare(dense + [lexical[t] for t in sorted(tasks)], baseline=f"kind={LEXICAL_KIND}", test=test,
                  correction=correction, buckets=buckets, depth_buckets=depth_buckets, alpha=alpha, min_n=min_n,
                  seed=seed, n_resamples=n_resamples, family=family)
    columns: list[str] = []
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in cmp.rows:
        rec = cmp.members[(r.task, r.model, r.pooling)]
        if r.is_baseline or is_lexical_record(rec):
            continue
        if r.n == 0 and r.bucket != bk.ALL:
            continue
        if r.bucket not in columns:
            columns.append(r.bucket)
        row = rows.setdefault((r.task, rec.model, rec.pooling), {"task": r.task, "model": rec.model,
                                                                 "pooling": rec.pooling, "cells": {}})
        row["cells"][r.bucket] = {"diff": r.mean_diff, "n": r.n_paired or r.n, "mark": r.mark, "p_adj": r.p_adj,
                                  "bm25": r.baseline_mean, "mean": r.mean}
    return {"columns": columns, "rows": list(rows.values()), "settings": cmp.settings}
