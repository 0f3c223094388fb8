"""Seeded, declarative subsets of a loaded dataset (``subset:`` in a task file).

Quick suites need smaller versions of real sets without new files. A subset is a pure function of the
full data and a seed (``random.Random`` over sorted ids, no numpy stream), so it is the same on every
machine, and a task file that declares it stays a complete description of what was evaluated.

Retrieval: ``{queries: N, docs: M, seed: S}`` keeps N of the judged queries, all their relevant
documents, and random other documents until the corpus has M (``docs`` alone keeps every query and
fills the corpus to M around their relevant documents). Labelled: ``{per_label: N | {split: N}, seed: S}``
keeps at most N rows of each label in each (named) split.
"""
from __future__ import annotations

import random

from ..data.types import LabelledData, RetrievalData
from ..errors import LmkbenchError

RETRIEVAL_KEYS = {"queries", "docs", "seed"}
LABELLED_KEYS = {"per_label", "seed"}


def _positive(spec: dict, key: str, where: str) -> int | None:
    val = spec.get(key)
    if val is None:
        return None
    if isinstance(val, bool) or not isinstance(val, int) or val < 1:
        raise LmkbenchError(f"{where}: subset {key} must be a positive integer, got {val!r}")
    return val


def apply_subset(data, spec: dict, where: str = "subset"):
    if isinstance(data, RetrievalData):
        return subset_retrieval(data, spec, where)
    if isinstance(data, LabelledData):
        return subset_labelled(data, spec, where)
    raise LmkbenchError(f"{where}: cannot take a subset of {type(data).__name__}")


def subset_retrieval(data: RetrievalData, spec: dict, where: str = "subset") -> RetrievalData:
    unknown = set(spec) - RETRIEVAL_KEYS
    if unknown:
        raise LmkbenchError(f"{where}: unknown retrieval subset key(s) {sorted(unknown)} (known: queries, docs, seed)")
    n_q, n_d = _positive(spec, "queries", where), _positive(spec, "docs", where)
    seed = spec.get("seed", 0)
    rng = random.Random(f"lmkbench-subset:{seed}")
    qids = data.evaluated_query_ids()
    before = {"queries": len(qids), "docs": len(data.corpus)}
    if n_q is not None and n_q < len(qids):
        keep = set(rng.sample(sorted(qids), n_q))
        qids = [q for q in qids if q in keep]
    relevant = {d for q in qids for d, g in data.qrels[q].items() if g > 0 and d in data.corpus}
    docs = set(data.corpus)
    if n_d is not None and n_d < len(docs):
        if n_d < len(relevant):
            raise LmkbenchError(f"{where}: subset docs={n_d} is fewer than the {len(relevant)} relevant documents "
                                "of the kept queries")
        others = sorted(docs - relevant)
        docs = relevant | set(rng.sample(others, n_d - len(relevant)))
    data.corpus = {d: v for d, v in data.corpus.items() if d in docs}
    data.queries = {q: data.queries[q] for q in qids}
    data.qrels = {q: {d: g for d, g in data.qrels[q].items() if d in docs} for q in qids}
    data.query_meta = {q: m for q, m in data.query_meta.items() if q in data.queries}
    data.info["subset"] = {"spec": dict(spec), "before": before,
                           "after": {"queries": len(data.queries), "docs": len(data.corpus)}}
    for key, val in (("n_docs", len(data.corpus)), ("n_queries", len(data.queries)),
                     ("n_qrels", sum(len(v) for v in data.qrels.values()))):
        if key in data.info:
            data.info[key] = val
    return data


def subset_labelled(data: LabelledData, spec: dict, where: str = "subset") -> LabelledData:
    unknown = set(spec) - LABELLED_KEYS
    if unknown:
        raise LmkbenchError(f"{where}: unknown labelled subset key(s) {sorted(unknown)} (known: per_label, seed)")
    per_label = spec.get("per_label")
    seed = spec.get("seed", 0)
    if isinstance(per_label, dict):
        wanted = dict(per_label)
    elif per_label is not None:
        wanted = {s: per_label for s in data.splits}
    else:
        raise LmkbenchError(f"{where}: a labelled subset needs per_label (a number, or {{split: number}})")
    before = {s: len(r) for s, r in data.splits.items()}
    for split, n in wanted.items():
        if split not in data.splits:
            raise LmkbenchError(f"{where}: subset names split {split!r}; the data has {', '.join(data.splits)}")
        n = _positive({"per_label": n}, "per_label", where)
        by_label: dict[str, list[int]] = {}
        for r in data.splits[split]:
            by_label.setdefault(data.labels[r], []).append(r)
        kept: list[int] = []
        for label in sorted(by_label):
            rows = by_label[label]
            kept.extend(rows if len(rows) <= n else random.Random(f"lmkbench-subset:{seed}:{split}:{label}").sample(rows, n))
        data.splits[split] = sorted(kept)
    data.info["subset"] = {"spec": {"per_label": per_label, "seed": seed}, "before": before,
                           "after": {s: len(r) for s, r in data.splits.items()}}
    if "split_sizes" in data.info:
        data.info["split_sizes"] = {s: len(r) for s, r in data.splits.items()}
    return data
