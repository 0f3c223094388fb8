"""Rankings decided by ties: queries whose top-k order rests on equal scores, or on score gaps smaller than what
the numbers resolve.

A TREC run beside a result (``qid Q0 docid rank score tag``) holds each query's scores. Two neighbours among the
first ``k + 1`` that are exactly equal decided the top-``k`` order by a tie (:func:`tied_topk_queries`, e.g.
documents truncated to the same text). Two neighbours closer than the **resolution** of the numbers are a near
tie: the resolution is the spacing of the values a score in [0.5, 1) can take in the dtype the vectors were
computed in (:data:`DTYPE_RESOLUTION`; bf16 keeps 8 significant bits, so a cosine gap under 2^-8 ≈ 0.004 is below
it) or the TREC file's 6 decimals (:data:`TREC_RESOLUTION`), whichever is coarser (:func:`near_tie_gap`). A query
whose hit rests on a near tie can flip when the same model runs in another dtype, so a metric read at that
depth can move by up to the share of such queries.
"""
from __future__ import annotations

import re

TOPK = 10
#: the spacing of the values a score in [0.5, 1) can take in the dtype its vectors were computed in (bf16 keeps 8
#: significant bits, fp16 11, fp32 24): a score gap at or below it is not resolved by those numbers
DTYPE_RESOLUTION = {"bf16": 2.0 ** -8, "fp16": 2.0 ** -11, "fp32": 2.0 ** -24}
#: the resolution of a TREC file's scores (:func:`lmkbench.results.format_trec_run` writes 6 decimals)
TREC_RESOLUTION = 1e-6
_FLOAT_NOISE = 1e-12     # a 6-decimal file's 1e-6 steps read back as 1e-6 ± float noise


def tied_topk_queries(trec_path, k: int = TOPK) -> set[str]:
    """Queries of a TREC run whose top-``k`` ranking contains two documents with exactly the same score
    (adjacent in the first ``k + 1`` places): their order there was decided by ties, not by the model."""
    from ..io import read_trec_run   # a bad score or a folder in its place: InputError naming file and line

    return ties_in_run(read_trec_run(trec_path), k)


def ties_in_run(run: dict[str, list[tuple[str, float]]], k: int = TOPK, gap: float = 0.0) -> set[str]:
    """Queries of a run (``{qid: [(docid, score)]}``) whose first ``k + 1`` scores hold two neighbours at most
    ``gap`` apart (0: exactly equal): their top-``k`` order was decided by a tie, or by a difference below what
    the numbers resolve."""
    limit = gap + _FLOAT_NOISE if gap else 0.0
    out = set()
    for qid, ranked in run.items():
        scores = sorted((s for _, s in ranked), reverse=True)[:k + 1]
        if any(a - b <= limit for a, b in zip(scores, scores[1:])):
            out.add(qid)
    return out


def near_tie_gap(record) -> float:
    """The score gap a result's ranking cannot resolve: the resolution of its vectors' dtype (its system's
    ``settings.dtype``; none where unknown) or the TREC file's, whichever is coarser."""
    from ..system import System

    dtype = System.from_record(record).settings.get("dtype")
    return max(DTYPE_RESOLUTION.get(str(dtype), 0.0), TREC_RESOLUTION)


def metric_cutoff(metric: str, default: int = TOPK) -> int:
    """The rank a metric reads to (``acc_at_1`` → 1, ``ndcg_at_10`` → 10), else ``default``."""
    m = re.search(r"_at_(\d+)$", metric)
    return int(m.group(1)) if m and int(m.group(1)) > 0 else default


def resolution_text() -> str:
    """``bf16 2^-8, fp16 2^-11, fp32 2^-24; TREC file 1e-06``: the resolutions, for a table's footnote."""
    import math

    dtypes = ", ".join(f"{name} 2^{int(math.log2(v))}" for name, v in DTYPE_RESOLUTION.items())
    return f"{dtypes}; TREC file {TREC_RESOLUTION:g}"


__all__ = ["DTYPE_RESOLUTION", "TOPK", "TREC_RESOLUTION", "metric_cutoff", "near_tie_gap", "resolution_text",
           "tied_topk_queries", "ties_in_run"]
