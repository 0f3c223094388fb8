"""Paired significance tests of two systems scored on the same items.

Every test here compares per-item scores ``a`` (a candidate pooling) and ``b`` (the baseline) on the same
items, in the same order, and answers with a :class:`PairedResult`: the p-value *together with* the
effect size (mean difference ``mean(a - b)``) and its confidence interval, because a p-value without the
size of the difference is not worth reading.

Tests (all two-sided):

``ttest``
    Paired t-test, :func:`scipy.stats.ttest_rel`. CI: the matching t interval.
``wilcoxon``
    Wilcoxon signed-rank test, :func:`scipy.stats.wilcoxon` with ``zero_method="wilcox"`` by default:
    pairs with a zero difference (ties, very common for NDCG where both systems fail a query) are
    dropped before ranking, as in Wilcoxon's original test; ``"pratt"`` and ``"zsplit"`` can be chosen.
    ``method="auto"`` (exact null for small n without ties, normal approximation otherwise).
``randomization``
    Paired randomization (sign-flip permutation) test of the mean difference: under H0 each difference
    is equally likely to have either sign. Exact (all ``2**n`` sign patterns) when ``2**n <=
    n_resamples``, else ``n_resamples`` random patterns from ``numpy.random.default_rng(seed)`` with
    the +1 correction ``p = (1 + #{|T*| >= |T|}) / (1 + n_resamples)`` (so p is never 0).
``bootstrap``
    Paired bootstrap: ``n_resamples`` resamples of the differences with replacement (seeded). The CI is
    the percentile interval of the resampled means; the p-value is the shift method (Efron &
    Tibshirani 1993, §16.4; Sakai 2006): resampled means of the differences centred on zero, ``p = (1 +
    #{|mean* - mean| >= |mean|}) / (1 + n_resamples)``.
``mcnemar``
    For binary per-item outcomes (hit / miss): McNemar's test on the discordant pairs (``a`` right
    and ``b`` wrong: ``n10``; the reverse: ``n01``). Exact binomial test when ``n10 + n01 < 25``,
    else chi-square with continuity correction ``(|n10 - n01| - 1)**2 / (n10 + n01)``.

Edge cases have defined answers instead of NaN or exceptions: pairs where either score is NaN are dropped
and counted (``n_nan``); no pairs → ``p = None``; all differences zero (identical runs) → ``p = 1``; one
pair with a non-zero difference → the t-test (no degrees of freedom) and the bootstrap (nothing to
resample) give ``p = None``, Wilcoxon and randomization their exact answer (``p = 1``); a constant
non-zero difference (zero variance) → t-test ``p = 0``, bootstrap ``p = 1 / (1 + n_resamples)``.

The CI method by default follows the test (``ci="auto"``): the t interval for the t-test, the bootstrap
percentile interval (``n_resamples``, same seed) for the others (each test declares which when it registers).

Equivalence (:func:`tost`, asked for with ``equivalence_margin``): the two one-sided tests that ``|mean(a - b)|``
is below the margin, read from the ``1 - 2·alpha`` CI of the difference by the same CI method (the t interval, or
the percentile bootstrap of the same resamples): equivalent when that interval lies inside ``±margin``.

Each test is a function ``run(a, b, draws) -> (statistic, p, note)`` registered with
:func:`~lmkbench.stats.registry.register_test` (name, help, the report's text, its CI); :func:`paired_test`
runs any registered test. scipy is imported inside the functions that use it, so that listing the tests (the
CLI) does not import it.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

from ..errors import LmkbenchError
from .registry import STAT_TESTS, register_test
from .settings import DEFAULTS

ZERO_METHODS = ("wilcox", "pratt", "zsplit")
MCNEMAR_EXACT_BELOW = 25
DEFAULT_RESAMPLES = DEFAULTS["n_resamples"]
_BATCH_CELLS = 1 << 21   # resampled values held in memory at once


@dataclass(frozen=True)
class PairedResult:
    """The outcome of one paired test; ``None`` where a value is undefined (see module docstring)."""

    test: str
    n: int                          # pairs used
    n_nan: int                      # pairs dropped because a score was NaN
    mean_a: float | None
    mean_b: float | None
    mean_diff: float | None         # mean(a - b): the effect size
    ci_low: float | None
    ci_high: float | None
    ci_method: str | None           # "t" | "bootstrap"
    statistic: float | None
    p: float | None
    note: str = ""
    # the equivalence test (TOST, asked for with a margin): the (1 - 2·alpha) CI of the difference by ci_method,
    # equivalent when it lies inside (-margin, +margin); p_tost = the larger one-sided p (t interval only)
    tost_low: float | None = None
    tost_high: float | None = None
    p_tost: float | None = None
    equivalent: bool | None = None

    def to_dict(self) -> dict:
        from ..results import json_safe   # here: the command line lists the tests without pydantic

        return json_safe(asdict(self))


# ---------------------------------------------------------------- input handling


def drop_nan_pairs(a: Sequence[float], b: Sequence[float]) -> tuple[np.ndarray, np.ndarray, int]:
    """The pairs where both scores are numbers, and how many pairs were dropped."""
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape:
        raise LmkbenchError(f"paired test needs equally many scores, got {a.size} and {b.size}")
    keep = ~(np.isnan(a) | np.isnan(b))
    return a[keep], b[keep], int(a.size - keep.sum())


def _all_zero(d: np.ndarray) -> bool:
    return bool(np.all(d == 0))


def _zero_variance(d: np.ndarray) -> bool:
    """Equal differences up to float noise (``0.3 - 0.2`` vs ``0.5 - 0.4``)."""
    scale = float(np.max(np.abs(d))) if d.size else 0.0
    return bool(d.size and np.ptp(d) <= 1e-12 * max(scale, 1e-300))


def is_binary(*arrays: np.ndarray) -> bool:
    """Every value is 0 or 1 (hit/miss outcomes such as ``acc_at_1`` or ``correct``)."""
    return all(np.asarray(x).size and np.all((np.asarray(x) == 0) | (np.asarray(x) == 1)) for x in arrays)


def choose_test(test: str, binary_test: str | None, *scores: np.ndarray, what: str = "") -> str:
    """The test to run on per-item ``scores`` (one array per side, NaN = missing): ``binary_test`` (McNemar's)
    when every side's finite scores are 0/1, else ``test``. ``test="mcnemar"`` on scores that are not 0/1 is
    an error (``what`` names them in it). Shared by ``compare`` and the CI gate."""
    finite = [s[~np.isnan(s)] for s in scores]
    binary = all(f.size for f in finite) and is_binary(*finite)
    if test == "mcnemar" and not binary:
        raise LmkbenchError(f"{what}McNemar's test needs binary per-item scores, but they are not 0/1")
    return binary_test if binary and binary_test else test


# ---------------------------------------------------------------- the tests: (statistic, p, note)


def ttest_p(a: np.ndarray, b: np.ndarray) -> tuple[float | None, float | None, str]:
    d = a - b
    if d.size == 0:
        return None, None, "no pairs"
    if _all_zero(d):
        return 0.0, 1.0, "all differences are zero"
    if d.size < 2:
        return None, None, "one pair: the t-test needs two"
    if _zero_variance(d):
        return math.copysign(math.inf, float(d.mean())), 0.0, "zero variance: every pair differs by the same amount"
    from scipy import stats

    res = stats.ttest_rel(a, b)
    return float(res.statistic), float(res.pvalue), ""


def wilcoxon_p(a: np.ndarray, b: np.ndarray, zero_method: str = "wilcox") -> tuple[float | None, float | None, str]:
    if zero_method not in ZERO_METHODS:
        raise LmkbenchError(f"unknown zero_method {zero_method!r} (known: {', '.join(ZERO_METHODS)})")
    d = a - b
    if d.size == 0:
        return None, None, "no pairs"
    if _all_zero(d):
        return 0.0, 1.0, "all differences are zero"
    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.wilcoxon(d, zero_method=zero_method)
    p = float(res.pvalue)
    if math.isnan(p):   # defensive: scipy answers NaN when nothing is left to rank
        return None, None, "no non-zero differences to rank"
    return float(res.statistic), p, f"zero_method={zero_method}"


def _tie_tolerance(d: np.ndarray, observed: float) -> float:
    """Values of a resampled mean within this of the observed one count as ties (as extreme).

    Resampled and observed means are computed along different float paths, so a theoretical tie can
    differ in the last bits; scipy uses ``100 * eps * |observed|``, we also allow for the rounding of the
    sums (scale ``max |d|``). Far below any difference that matters for a score in [0, 1].
    """
    return max(100 * np.finfo(float).eps * abs(observed), 1e-10 * float(np.max(np.abs(d))))


def _sign_patterns_exact(n: int) -> np.ndarray:
    codes = np.arange(2 ** n, dtype=np.int64)[:, None]
    return 1.0 - 2.0 * ((codes >> np.arange(n)) & 1)


def randomization_p(a: np.ndarray, b: np.ndarray, n_resamples: int = DEFAULT_RESAMPLES,
                    seed: int | None = 0) -> tuple[float | None, float | None, str]:
    """Sign-flip permutation test of the mean difference (see module docstring)."""
    d = a - b
    n = d.size
    if n == 0:
        return None, None, "no pairs"
    observed = float(d.mean())
    if _all_zero(d):
        return observed, 1.0, "all differences are zero"
    threshold = abs(observed) - _tie_tolerance(d, observed)
    if n < 63 and 2 ** n <= n_resamples:
        null = _sign_patterns_exact(n) @ d / n
        count = int(np.count_nonzero(np.abs(null) >= threshold))
        return observed, count / 2 ** n, f"exact over {2 ** n} sign patterns"
    rng = np.random.default_rng(seed)
    batch = max(1, _BATCH_CELLS // n)
    total = float(d.sum())
    count = 0
    for start in range(0, n_resamples, batch):
        size = min(batch, n_resamples - start)
        # one random bit per item: flipping the signs of the items whose bit is set gives sum - 2 * flipped
        flipped = np.unpackbits(rng.integers(0, 256, (size, (n + 7) // 8), dtype=np.uint8), axis=1, count=n)
        null = (total - 2.0 * (flipped.astype(float) @ d)) / n
        count += int(np.count_nonzero(np.abs(null) >= threshold))
    return observed, (count + 1) / (n_resamples + 1), f"{n_resamples} random sign patterns"


def default_batch(n: int) -> int:
    """Resamples drawn per call so that ``batch * n`` values fit in memory (pass the same to scipy to match)."""
    return max(1, _BATCH_CELLS // max(n, 1))


def bootstrap_means(d: np.ndarray, n_resamples: int = DEFAULT_RESAMPLES, seed: int | None = 0,
                    batch: int | None = None) -> np.ndarray:
    """Means of ``n_resamples`` resamples (with replacement) of ``d``.

    Draws indices exactly as :func:`scipy.stats.bootstrap` does (``rng.integers(0, n, (batch, n))`` per
    batch), so with the same seed and batch both see the same resamples.
    """
    n = d.size
    rng = np.random.default_rng(seed)
    batch = batch or default_batch(n)
    out = []
    for start in range(0, n_resamples, batch):
        size = min(batch, n_resamples - start)
        idx = rng.integers(0, n, (size, n))
        out.append(np.mean(d[idx], axis=-1))
    return np.concatenate(out) if out else np.empty(0)


def bootstrap_ci(d: np.ndarray, confidence: float = 0.95, n_resamples: int = DEFAULT_RESAMPLES,
                 seed: int | None = 0, batch: int | None = None, *, means: np.ndarray | None = None):
    """Percentile bootstrap CI of the mean of ``d`` (linear interpolation between order statistics)."""
    if d.size == 0:
        return None, None
    if means is None:
        means = bootstrap_means(d, n_resamples, seed, batch)
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    return float(lo), float(hi)


def bootstrap_p(a: np.ndarray, b: np.ndarray, n_resamples: int = DEFAULT_RESAMPLES, seed: int | None = 0,
                batch: int | None = None, *, means: np.ndarray | None = None) -> tuple[float | None, float | None, str]:
    """Shift-method paired bootstrap test of the mean difference (see module docstring)."""
    d = a - b
    if d.size == 0:
        return None, None, "no pairs"
    observed = float(d.mean())
    if _all_zero(d):
        return observed, 1.0, "all differences are zero"
    if d.size < 2:
        return observed, None, "one pair: the bootstrap needs two"
    if means is None:
        means = bootstrap_means(d, n_resamples, seed, batch)
    centred = np.abs(means - observed)
    count = int(np.count_nonzero(centred >= abs(observed) - _tie_tolerance(d, observed)))
    return observed, (count + 1) / (means.size + 1), f"{means.size} resamples, shift method"


def mcnemar_p(a: np.ndarray, b: np.ndarray,
              exact_below: int = MCNEMAR_EXACT_BELOW) -> tuple[float | None, float | None, str]:
    """McNemar's test on binary outcomes; statistic = min(n10, n01) (exact) or the chi-square value."""
    if a.size == 0:
        return None, None, "no pairs"
    if not is_binary(a, b):
        raise LmkbenchError("McNemar's test needs binary (0/1) per-item outcomes")
    n10 = int(np.count_nonzero((a == 1) & (b == 0)))
    n01 = int(np.count_nonzero((a == 0) & (b == 1)))
    disc = n10 + n01
    if disc == 0:
        return 0.0, 1.0, "no discordant pairs"
    from scipy import stats

    if disc < exact_below:
        p = stats.binomtest(n10, disc, 0.5).pvalue
        return float(min(n10, n01)), float(min(p, 1.0)), f"exact binomial, n10={n10}, n01={n01}"
    chi2 = (abs(n10 - n01) - 1) ** 2 / disc
    return float(chi2), float(stats.chi2.sf(chi2, 1)), f"chi-square with continuity correction, n10={n10}, n01={n01}"


def t_ci(d: np.ndarray, confidence: float = 0.95):
    """The t interval of the mean of ``d`` (the CI that matches the paired t-test)."""
    n = d.size
    if n == 0:
        return None, None
    m = float(d.mean())
    if _all_zero(d) or _zero_variance(d):
        return m, m
    if n < 2:
        return None, None
    from scipy import stats

    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * float(np.std(d, ddof=1)) / math.sqrt(n)
    return m - half, m + half


def tost(d: np.ndarray, margin: float, alpha: float = 0.05, ci_method: str = "t", *,
         means: np.ndarray | None = None) -> tuple[float | None, float | None, float | None, bool | None]:
    """Two one-sided tests (Schuirmann 1987) that the mean of ``d`` lies inside ``(-margin, +margin)``: ``(low,
    high, p, equivalent)``. ``low, high`` is the ``1 - 2·alpha`` CI of the mean by ``ci_method`` (the t interval,
    or the percentile bootstrap over ``means``, the resampled means the 95% CI was read from); both one-sided tests
    reject at ``alpha`` exactly when it lies inside the margin, the verdict ``equivalent``. ``p`` (the larger of
    the two one-sided p-values) is given for the t interval only; None where the CI is undefined."""
    if d.size == 0:
        return None, None, None, None
    confidence = 1 - 2 * alpha
    if _all_zero(d) or _zero_variance(d):
        m = float(d.mean())
        return m, m, (0.0 if abs(m) < margin else 1.0), abs(m) < margin
    if ci_method == "t":
        lo, hi = t_ci(d, confidence)
        if lo is None:
            return None, None, None, None
        from scipy import stats

        n, m = d.size, float(d.mean())
        se = float(np.std(d, ddof=1)) / math.sqrt(n)
        p = max(float(stats.t.sf((m + margin) / se, n - 1)), float(stats.t.cdf((m - margin) / se, n - 1)))
    else:
        lo, hi = bootstrap_ci(d, confidence, means=means)
        p = None
    return lo, hi, p, bool(-margin < lo and hi < margin)


# ---------------------------------------------------------------- the registered tests


@dataclass
class Draws:
    """What a registered test may use beyond the pairs: the resampling settings and Wilcoxon's zero method.
    :meth:`bootstrap_means` draws the resampled means of ``a - b`` once, shared by a test and its CI."""

    d: np.ndarray
    n_resamples: int = DEFAULT_RESAMPLES
    seed: int | None = 0
    batch: int | None = None
    zero_method: str = "wilcox"
    _means: np.ndarray | None = field(default=None, repr=False)

    def bootstrap_means(self) -> np.ndarray:
        if self._means is None:
            self._means = bootstrap_means(self.d, self.n_resamples, self.seed, self.batch)
        return self._means


@register_test("ttest", ci="t", help="paired t-test",
               text="a paired t-test on the per-item score differences (scipy.stats.ttest_rel); the CI of the "
                    "difference is the matching t interval")
def _ttest(a, b, draws: Draws):
    return ttest_p(a, b)


@register_test("wilcoxon", help="signed-rank, zero differences dropped",
               text="the Wilcoxon signed-rank test on the per-item differences (scipy.stats.wilcoxon; pairs with a "
                    "zero difference are dropped); the CI of the difference is a percentile bootstrap")
def _wilcoxon(a, b, draws: Draws):
    return wilcoxon_p(a, b, draws.zero_method)


@register_test("randomization", help="sign-flip permutation",
               text="a paired randomization (sign-flip permutation) test of the mean difference; the CI of the "
                    "difference is a percentile bootstrap")
def _randomization(a, b, draws: Draws):
    return randomization_p(a, b, draws.n_resamples, draws.seed)


# not offered by the gate, whose failures stop CI: the shift method is anti-conservative for small n
@register_test("bootstrap", gate=False, help="paired bootstrap, shift method",
               text="a paired bootstrap test of the mean difference (shift method); the CI of the difference is a "
                    "percentile bootstrap")
def _bootstrap(a, b, draws: Draws):
    d = a - b
    means = draws.bootstrap_means() if d.size >= 2 and not _all_zero(d) else None
    return bootstrap_p(a, b, draws.n_resamples, draws.seed, draws.batch, means=means)


@register_test("mcnemar", binary=True, help="McNemar's test for 0/1 outcomes",
               text="McNemar's test on the discordant pairs (items one pooling gets right and the other wrong); "
                    "exact binomial below 25 discordant pairs, else chi-square with continuity correction")
def _mcnemar(a, b, draws: Draws):
    return mcnemar_p(a, b)


# ---------------------------------------------------------------- the one entry point


def paired_test(a: Sequence[float], b: Sequence[float], test: str = "ttest", *, ci: str = "auto",
                confidence: float = 0.95, n_resamples: int = DEFAULT_RESAMPLES, seed: int | None = 0,
                zero_method: str = "wilcox", batch: int | None = None, equivalence_margin: float | None = None,
                alpha: float = 0.05) -> PairedResult:
    """Test ``a`` against ``b`` (paired by position) with the registered ``test`` and report the mean
    difference with its CI; with ``equivalence_margin``, also the equivalence test (:func:`tost` at ``alpha``,
    on the ``1 - 2·alpha`` CI of the same method)."""
    if test not in STAT_TESTS:
        raise LmkbenchError(f"unknown test {test!r} (known: {', '.join(STAT_TESTS.names())})")
    method = STAT_TESTS.method(test)
    if ci not in ("auto", "t", "bootstrap"):
        raise LmkbenchError(f"unknown ci method {ci!r} (known: auto, t, bootstrap)")
    if not 0 < confidence < 1:
        raise LmkbenchError(f"confidence must be in (0, 1), got {confidence}")
    if n_resamples < 1:
        raise LmkbenchError(f"n_resamples must be >= 1, got {n_resamples}")
    a, b, n_nan = drop_nan_pairs(a, b)
    d = a - b
    n = int(d.size)
    ci_method = method.ci if ci == "auto" else ci
    draws = Draws(d, n_resamples, seed, batch, zero_method)
    stat, p, note = method.run(a, b, draws)

    if n == 0:
        lo = hi = None
    elif _all_zero(d):
        lo = hi = 0.0
    elif ci_method == "t":
        lo, hi = t_ci(d, confidence)
    else:
        lo, hi = bootstrap_ci(d, confidence, means=draws.bootstrap_means())
    equivalence = {}
    if equivalence_margin is not None and n:
        means = None if ci_method == "t" or d.size < 2 or _all_zero(d) else draws.bootstrap_means()
        equivalence = dict(zip(("tost_low", "tost_high", "p_tost", "equivalent"),
                               tost(d, equivalence_margin, alpha, ci_method, means=means)))
    if n_nan:
        note = (note + "; " if note else "") + f"{n_nan} pair(s) with NaN dropped"
    return PairedResult(test=test, n=n, n_nan=n_nan,
                        mean_a=float(a.mean()) if n else None, mean_b=float(b.mean()) if n else None,
                        mean_diff=float(d.mean()) if n else None, ci_low=lo, ci_high=hi,
                        ci_method=ci_method if n else None, statistic=stat, p=p, note=note, **equivalence)
