"""Fixture result files for the statistics tests (written with lmkbench.results.write_result)."""
from __future__ import annotations

import numpy as np
import pytest

from lmkbench.results import write_result


def retrieval_record(task, model, pooling, scores, lengths, truncated=None, extra=None):
    per_query = {}
    for i, (s, n) in enumerate(zip(scores, lengths)):
        rec = {"ndcg_at_10": float(s), "length": int(n), "lengths": [int(n)],
               "truncated": bool(truncated[i]) if truncated is not None else bool(n > 512)}
        if extra:
            rec.update(extra[i])
        per_query[f"q{i}"] = rec
    vals = [v["ndcg_at_10"] for v in per_query.values()]
    return {"task": task, "task_kind": "retrieval", "split": "test", "model": model, "pooling": pooling,
            "main_metric": "ndcg_at_10", "metrics": {"ndcg_at_10": float(np.nanmean(vals))},
            "per_query": per_query, "meta": {}}


def classification_record(task, model, pooling, correct, lengths):
    per_item = {f"t{i}": {"correct": int(c), "length": int(n), "truncated": bool(n > 512)}
                for i, (c, n) in enumerate(zip(correct, lengths))}
    return {"task": task, "task_kind": "classification", "split": "test", "model": model, "pooling": pooling,
            "main_metric": "accuracy", "per_item_metric": "correct",
            "metrics": {"accuracy": float(np.mean(correct))}, "per_item": per_item, "meta": {}}


def toy_records(seed=0, n=120):
    """A retrieval task where lmk wins on long documents, cls loses everywhere, 'same' equals mean;
    and a classification task with binary outcomes."""
    rng = np.random.default_rng(seed)
    lengths = np.concatenate([rng.integers(50, 500, n // 2), rng.integers(1100, 1900, n // 2)])
    base = rng.uniform(0.2, 0.8, n)
    long = lengths >= 1024
    lmk = np.clip(base + np.where(long, 0.15, 0.0) + rng.normal(0, 0.05, n), 0, 1)
    cls = np.clip(base - 0.12 + rng.normal(0, 0.05, n), 0, 1)
    recs = [retrieval_record("toy", "m", "mean", base, lengths),
            retrieval_record("toy", "m", "lmk:g=32", lmk, lengths),
            retrieval_record("toy", "m", "cls", cls, lengths),
            retrieval_record("toy", "m", "same", base, lengths)]
    m = 200
    clen = rng.integers(100, 900, m)
    c_base = (rng.random(m) < 0.7).astype(int)
    c_better = c_base.copy()
    flip = rng.choice(np.flatnonzero(c_base == 0), 30, replace=False)
    c_better[flip] = 1
    recs += [classification_record("toycls", "m", "mean", c_base, clen),
             classification_record("toycls", "m", "lmk:g=32", c_better, clen)]
    return recs


@pytest.fixture
def results_dir(tmp_path):
    root = tmp_path / "results"
    for rec in toy_records():
        write_result(root, rec)
    return root


@pytest.fixture
def records():
    """The toy records (a fresh list each time, so tests may modify them)."""
    return toy_records()


@pytest.fixture
def make_retrieval():
    return retrieval_record


@pytest.fixture
def make_classification():
    return classification_record
