"""Two small result files (cls and mean of one task and model) for the tests of commands that read a results
folder (import as ``from _result_files import write_two_results``)."""
from __future__ import annotations

import numpy as np

from lmkbench.results import write_result


def result_record(pooling: str, scores, **item) -> dict:
    """A retrieval result of task ``t``, model ``m``: one query per score (``item``: extra per-query fields)."""
    per_query = {f"q{i}": {"ndcg_at_10": float(s), "length": 10 * i, "truncated": False, "relevant": [f"d{i}"],
                           **item} for i, s in enumerate(scores)}
    return {"task": "t", "task_kind": "retrieval", "split": "test", "model": "m", "pooling": pooling,
            "main_metric": "ndcg_at_10", "metrics": {"ndcg_at_10": float(np.mean(scores))}, "per_query": per_query,
            "meta": {"dataset_checksums": {"corpus.jsonl": "a" * 64}, "model_identity": "id-1"}}


def write_two_results(folder) -> dict:
    """cls and mean results (12 queries, seeded scores) with their runs under ``folder``; pooling → path."""
    rng = np.random.default_rng(0)
    paths = {}
    for p in ("cls", "mean"):
        rec = result_record(p, rng.uniform(0, 1, 12))
        paths[p] = write_result(folder, rec, run={q: [("d1", 1.0), ("d2", 0.5)] for q in rec["per_query"]})
    return paths
