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

Each is a function registered with :func:`~lmkbench.stats.registry.register_correction` (name, aliases, help
and the report's text); another correction is one more such function.

Entries that are ``None`` (buckets too small to test) are not part of the family: they stay ``None`` and
do not count in ``m``. Both raw and adjusted values are kept by the callers.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import LmkbenchError
from .registry import register_correction, correction_of


def normalise_method(method: str | None) -> str:
    """The registered name of a correction given by name or alias (``fdr_bh`` → ``bh``); unknown: an error."""
    return correction_of(method).name


@register_correction("holm", aliases=("bonferroni-holm",), help="family-wise error",
                     text="Holm–Bonferroni step-down, which controls the family-wise error rate: the chance of even "
                          "one false ▲/▼ in the whole report is at most alpha")
def holm(p: np.ndarray) -> np.ndarray:
    m = p.size
    order = np.argsort(p, kind="mergesort")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.maximum.accumulate(scaled)
    return out


@register_correction("bh", aliases=("fdr_bh", "benjamini-hochberg"), help="false discovery rate",
                     text="Benjamini–Hochberg, which controls the false discovery rate: on average at most a share "
                          "alpha of the ▲/▼ marks are false")
def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    m = p.size
    order = np.argsort(p, kind="mergesort")
    scaled = np.minimum(1.0, p[order] * m / np.arange(1, m + 1))
    out = np.empty(m)
    out[order] = np.minimum.accumulate(scaled[::-1])[::-1]
    return out


@register_correction("none", aliases=("raw",), help="raw p-values",
                     text="no correction: p-values are raw, so about one test in 1/alpha is 'significant' by chance "
                          "alone")
def raw(p: np.ndarray) -> np.ndarray:
    return p


def adjust(pvalues: Sequence[float | None], method: str = "holm") -> list[float | None]:
    """Adjusted p-values in the input order; ``None`` entries stay ``None`` and are not counted."""
    correction = correction_of(method)
    idx = [i for i, p in enumerate(pvalues) if p is not None]
    out: list[float | None] = [None] * len(pvalues)
    if not idx:
        return out
    p = np.array([float(pvalues[i]) for i in idx])
    if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)):
        raise LmkbenchError("p-values must be numbers in [0, 1]")
    for i, v in zip(idx, correction.adjust(p)):
        out[i] = float(v)
    return out
