"""Size and length profile of a task, for ``lmkbench tasks``.

Lengths are whitespace words (``len(text.split())``, as ``../shared/data/README.md`` reports them) of the
texts that get embedded as "documents": the corpus for retrieval, the scored rows for classification and
clustering. Words need no tokenizer, so listing stays model-free and fast. Synthetic tasks are built in the
evaluated model's tokens, so their length is known exactly without building them.
"""
from __future__ import annotations

import numpy as np

from ..data.types import LabelledData, RetrievalData
from ..errors import LmkbenchError


def _words(texts) -> dict:
    if not texts:
        return {}
    n = np.array([len(t.split()) for t in texts])
    return {"median": int(np.median(n)), "p90": int(np.percentile(n, 90)), "max": int(n.max())}


def measure(data) -> dict:
    """Counts and word-length statistics of loaded data."""
    if isinstance(data, RetrievalData):
        qids = data.evaluated_query_ids()
        return {"docs": len(data.corpus), "queries": len(qids),
                "qrels": sum(1 for q in qids for g in data.qrels[q].values() if g > 0),
                "doc_words": _words(data.doc_texts()),
                "query_words": _words([data.queries[q] for q in qids])}
    if isinstance(data, LabelledData):
        rows = data.splits.get(data.eval_split, range(len(data.ids)))
        return {"rows": len(data.ids), "splits": {k: len(v) for k, v in data.splits.items()},
                "eval_rows": len(rows), "labels": len({data.labels[r] for r in rows}),
                "doc_words": _words([data.texts[r] for r in rows])}
    raise LmkbenchError(f"cannot profile {type(data).__name__}")


def profile(task) -> dict:
    """``{"available", "measured", ...counts, "length"}``; loads local data (checksums included)."""
    status, why = task.availability()
    out = {"available": status, "why": why, "measured": False}
    if task.needs_tokenizer:
        p = task.params
        out.update(docs=p.get("n_candidates"), queries=p.get("n_queries"), length=f"{p.get('length')} tok (exact)",
                   measured=True)
        return out
    if status != "yes":
        out.update(task.size)
        return out
    try:
        stats = measure(task.load())
    except LmkbenchError as exc:
        out.update(task.size, available="error", why=str(exc))
        return out
    out.update(stats, measured=True)
    words = stats.get("doc_words") or {}
    if words:
        out["length"] = f"{words['median']}/{words['p90']} words"
    return out


def size_text(p: dict, kind: str = "") -> str:
    if p.get("docs") is not None:
        return f"{p['docs']} docs / {p.get('queries', '?')} q"
    if p.get("eval_rows") is not None:
        train = (p.get("splits") or {}).get("train") if kind == "classification" else None
        return f"{p['eval_rows']} rows" + (f" (+{train} train)" if train else "")
    if p.get("rows") is not None:
        return f"{p['rows']} rows"
    return "-"
