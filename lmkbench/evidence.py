"""Where the evidence sits: an estimate of the relative position of a query's answer in its gold document.

Synthetic tasks know the needle's depth. For real retrieval tasks, :func:`evidence_depth` cuts the gold
document into consecutive passages of ``PASSAGE_WORDS`` whitespace words, scores them against the query with
BM25 over that document's passages alone (:mod:`lmkbench.bm25`, defaults), and returns the centre of the best
passage as a fraction of the document's characters (0 = start, 1 = end). ``None`` when no query term occurs in
the document, including a query or document with no BM25 token at all (empty, punctuation or stop words only):
such a query still counts in the scores, and depth buckets pass it over (``stats.buckets.item_depth``). Recorded per query as ``evidence_depth`` with ``evidence_depth_estimated: true``; ``compare``
and the report bucket by it (and by length × depth) where no true ``depth`` exists.
"""
from __future__ import annotations

import re

import numpy as np

PASSAGE_WORDS = 64
_WORD = re.compile(r"\S+")


def passages(text: str, words: int = PASSAGE_WORDS) -> list[tuple[int, int]]:
    """Character spans of consecutive passages of ``words`` whitespace-separated words."""
    spans = [m.span() for m in _WORD.finditer(text)]
    return [(spans[i][0], spans[min(i + words, len(spans)) - 1][1]) for i in range(0, len(spans), words)]


def evidence_depth(query: str, document: str, words: int = PASSAGE_WORDS, bm25=None) -> float | None:
    """Relative position (0..1) of the passage of ``document`` that best matches ``query`` (BM25), or None."""
    from .bm25 import BM25

    spans = passages(document, words)
    if not spans:
        return None
    if len(spans) == 1:
        scorer = BM25(bm25 or "bm25").index([document])
        return 0.5 if scorer.scores(query)[0] > 0 else None
    scorer = BM25(bm25 or "bm25").index([document[a:b] for a, b in spans])
    s = scorer.scores(query)
    if not np.any(s > 0):
        return None
    a, b = spans[int(np.argmax(s))]
    return round((a + b) / 2 / max(len(document), 1), 6)
