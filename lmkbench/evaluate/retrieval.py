"""Retrieval: embed queries and corpus, exact dense top-k, per-query metrics (trec_eval semantics)."""
from __future__ import annotations

import numpy as np

from ..data.types import RetrievalData
from ..errors import LmkbenchError
from ..metrics import DEFAULT_METRICS, parse_metrics, per_query_scores
from ..params import Param, to_bool, to_str, to_int
from ..search import top_k
from .base import EvalOutput, Evaluator, register_evaluator, restrict


#: query text kept in each per-query record (for the report's drill-down), cut to this many characters
QUERY_TEXT_CHARS = 1000


@register_evaluator("retrieval")
class RetrievalEvaluator(Evaluator):
    """exact dense top-k per query, scored with trec_eval-exact metrics"""

    per_item_key = "per_query"
    streamed_sets = frozenset({"corpus"})
    query_sets = frozenset({"queries"})
    multi_vector_sets = frozenset({"corpus"})
    params = {
        "k": Param(to_int, 100, "run depth: documents kept per query", ge=1),
        "metrics": Param(parse_metrics, DEFAULT_METRICS, "metric specs, e.g. [ndcg@10, recall@100]"),
        "device": Param(to_str, "cpu", "device of the exact search"),
        "evidence": Param(to_bool, True, "estimate evidence_depth where the task has no true depth"),
    }

    def __init__(self, **options):
        super().__init__(**options)
        self._depths: dict[str, float | None] | None = None

    def text_sets(self, data: RetrievalData):
        qids = data.evaluated_query_ids()
        if not qids:   # every metric would be 0 by construction: refuse before any encoding
            raise LmkbenchError(f"task {data.name!r} ({data.source or 'no source'}): no query has a relevant "
                                "document (grade > 0): nothing to evaluate")
        return {"queries": (qids, [data.queries[q] for q in qids]),
                "corpus": (data.doc_ids(), data.doc_texts())}

    def length_of_items(self, data: RetrievalData, token_counts, truncated, split=None):
        out = {}
        qids = data.evaluated_query_ids()
        wanted = {d for q in qids for d, g in data.qrels[q].items() if g > 0}
        dlen, dtr = restrict(token_counts["corpus"], wanted), restrict(truncated["corpus"], wanted)
        dsp = restrict(split["corpus"], wanted) if split else {}
        qlen = restrict(token_counts["queries"], qids)
        for qid in qids:
            rel = sorted((d for d, g in data.qrels[qid].items() if g > 0), key=lambda d: -dlen.get(d, 0))
            lengths = [int(dlen[d]) for d in rel if d in dlen]
            longest = rel[0] if rel else None
            rec = {"length": lengths[0] if lengths else 0, "lengths": lengths, "relevant": rel,
                   "truncated": bool(dtr.get(longest, False)) if longest else False,
                   "split": bool(dsp.get(longest, False)) if longest else False,
                   "query_length": int(qlen.get(qid, 0)),
                   "query_text": data.queries[qid][:QUERY_TEXT_CHARS]}
            rec.update(data.query_meta.get(qid, {}))
            out[qid] = rec
        if self.evidence and not any("depth" in r for r in out.values()):
            depths = self.evidence_depths(data, {q: r["relevant"][0] for q, r in out.items() if r["relevant"]})
            for qid, d in depths.items():
                out[qid].update({"evidence_depth": d, "evidence_depth_estimated": True})
        return out

    def evidence_depths(self, data: RetrievalData, gold: dict[str, str]) -> dict[str, float | None]:
        """Estimated depth of the best-matching passage of each query's (longest) gold document, once per task
        (see :mod:`lmkbench.evidence`)."""
        if self._depths is None:
            from ..evidence import evidence_depth

            self._depths = {q: evidence_depth(data.queries[q], data.doc_text(d)) for q, d in gold.items()}
        return self._depths

    def evaluate(self, data: RetrievalData, embeddings) -> EvalOutput:
        scores, idx = top_k(embeddings["queries"], embeddings["corpus"], self.k, device=self.device)
        return self.score_run(data, scores, idx)

    def score_run(self, data: RetrievalData, scores: np.ndarray, idx: np.ndarray, keep=None) -> EvalOutput:
        """Per-query metrics of a ranked ``(scores, indices)`` run over ``data.doc_ids()`` (any system's);
        ``keep(score)`` drops entries (BM25: documents that share no term with the query)."""
        qids = data.evaluated_query_ids()
        doc_ids = data.doc_ids()
        run = {q: [(doc_ids[j], float(s)) for s, j in zip(scores[r], idx[r]) if keep is None or keep(s)]
               for r, q in enumerate(qids)}
        per_query = per_query_scores(run, {q: data.qrels[q] for q in qids}, self.metrics)
        metrics = {m.key: float(np.mean([v[m.key] for v in per_query.values()])) if per_query else 0.0
                   for m in self.metrics}
        info = {"n_queries": len(qids), "n_docs": len(doc_ids), "k": self.k}
        return EvalOutput(metrics, per_query, data.main_metric, run=run, info=info,
                          item_scores=tuple(m.key for m in self.metrics))
