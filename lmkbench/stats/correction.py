"""Multiple-comparison correction over the family of tests a report shows.

A report tests every pooling against the baseline on every task in every length bucket; at alpha = 0.05
one test in twenty is "significant" by chance, so p-values are adjusted over that whole family:

``holm`` (default)
    Holm–Bonferroni step-down, controls the family-wise error rate under any dependence. With sorted
    ``p(1) <= ... <= p(m)``: ``adj(i) = max_{j<=i} min(1, (m - j + 1) p(j))``.
``bh``
    Benjamini–Hochberg step-up, controls the false discovery rate (valid under independence or positive
    dependence): ``adj(i) = min_{j>=i} min(1, m / j * p(j))``.
``none``
    Raw p-values.

Entries that are ``None`` (buckets too small to test) are not part of the family: they stay ``None`` and
do not count in ``m``. Both raw and adjusted values are kept by the callers.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import LmkbenchError

CORRECTIONS = ("holm", "bh", "none")
_ALIASES = {"fdr_bh": "bh", "benjamini-hochberg": "bh", "bonferroni-holm": "holm", "raw": "none"}


def normalise_method(method: str | None) -> str:
    key = (method or "none").strip().lower()
    key = _ALIASES.get(key, key)
    if key not in CORRECTIONS:
        raise LmkbenchError(f"unknown correction {method!r} (known: {', '.join(CORRECTIONS)})")
    return key


def holm(p: np.ndarray) -> np.ndarray:
    m = p.size
    order = np.argsort(p, kind="mergesort")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.maximum.accumulate(scaled)
    return out


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    m = p.size
    order = np.argsort(p, kind="mergesort")
    scaled = np.minimum(1.0, p[order] * m / np.arange(1, m + 1))
    out = np.empty(m)
    out[order] = np.minimum.accumulate(scaled[::-1])[::-1]
    return out


def adjust(pvalues: Sequence[float | None], method: str = "holm") -> list[float | None]:
    """Adjusted p-values in the input order; ``None`` entries stay ``None`` and are not counted."""
    method = normalise_method(method)
    idx = [i for i, p in enumerate(pvalues) if p is not None]
    out: list[float | None] = [None] * len(pvalues)
    if not idx:
        return out
    p = np.array([float(pvalues[i]) for i in idx])
    if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)):
        raise LmkbenchError("p-values must be numbers in [0, 1]")
    if method == "holm":
        adj = holm(p)
    elif method == "bh":
        adj = benjamini_hochberg(p)
    else:
        adj = p
    for i, v in zip(idx, adj):
        out[i] = float(v)
    return out
