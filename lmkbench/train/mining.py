"""Lexical hard negatives for BEIR training splits, which ship none.

TF-IDF (scikit-learn, sublinear tf, English stop words) over the whole corpus; each query's top-ranked
documents that are not judged relevant become its hard negatives. Lexical mining is cheap on a CPU and
independent of the model being trained, so every pooling of a matched experiment gets the same negatives.
Ties are broken by document order, so the result is deterministic.
"""
from __future__ import annotations

import numpy as np

from ..data.types import RetrievalData


def mine_tfidf_negatives(data: RetrievalData, query_ids: list[str], k: int, *, chunk: int = 256) -> dict[str, list[str]]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    doc_ids = data.doc_ids()
    vec = TfidfVectorizer(sublinear_tf=True, stop_words="english", dtype=np.float32)
    docs = vec.fit_transform(data.doc_texts())
    out: dict[str, list[str]] = {}
    for start in range(0, len(query_ids), chunk):
        part = query_ids[start:start + chunk]
        q = vec.transform([data.queries[qid] for qid in part])
        sims = (q @ docs.T).toarray()
        for row, qid in enumerate(part):
            relevant = {d for d, g in data.qrels.get(qid, {}).items() if g > 0}
            order = np.argsort(-sims[row], kind="stable")
            picked: list[str] = []
            for j in order:
                d = doc_ids[j]
                if d not in relevant:
                    picked.append(d)
                    if len(picked) == k:
                        break
            out[qid] = picked
    return out
