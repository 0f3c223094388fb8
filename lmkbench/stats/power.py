"""Minimum detectable effect (MDE): the smallest true mean difference a bucket could have shown.

A bucket without a ▲/▼ says "no significant difference", which is not "no difference": with 12 queries
even a large effect goes unseen. The MDE turns the bucket's n into a number on the score's own scale:
the true mean difference that a two-sided paired test at level ``alpha`` would detect with probability
``power`` (80 % by default).

It is computed for the paired t-test (the default test, and for the others its large-sample stand-in:
the Wilcoxon, randomization and bootstrap tests have asymptotic relative efficiency near 1 to it for the
score differences seen here, and McNemar's test on 0/1 outcomes is the paired t-test on differences in
{-1, 0, 1} up to a continuity correction):

* the standardised effect ``d = mean(diff) / sd(diff)`` at which the non-central t distribution with
  ``n - 1`` degrees of freedom and non-centrality ``d * sqrt(n)`` puts mass ``power`` beyond the two-sided
  critical values ``±t(1 - alpha/2, n - 1)`` (solved with :func:`scipy.optimize.brentq`; the same number
  as ``statsmodels.stats.power.TTestPower().solve_power(nobs=n, alpha=alpha, power=power)``);
* times the standard deviation of the bucket's observed paired differences, to put it on the score scale.

Undefined (``None``) for fewer than two pairs or when every pair differs by the same amount (no spread to
scale by).
"""
from __future__ import annotations

import math

import numpy as np

DEFAULT_POWER = 0.8


def ttest_power(d: float, n: int, alpha: float = 0.05) -> float:
    """Power of the two-sided one-sample (paired) t-test with ``n`` pairs against standardised effect ``d``."""
    from scipy import stats   # here, not at import: listing the tests (the CLI) must not import scipy

    df = n - 1
    crit = stats.t.ppf(1 - alpha / 2, df)
    nc = d * math.sqrt(n)
    # P(T > crit) + P(T < -crit); the lower tail as the upper tail of -T (scipy's nct.cdf far in the lower
    # tail can return NaN), a NaN there is a tail too small to compute: 0
    tails = [stats.nct.sf(crit, df, nc), stats.nct.sf(crit, df, -nc)]
    return float(sum(0.0 if math.isnan(t) else t for t in tails))


def detectable_effect_size(n: int, alpha: float = 0.05, power: float = DEFAULT_POWER) -> float | None:
    """Standardised effect (Cohen's d_z) detected with probability ``power``; None for n < 2."""
    if n < 2 or not 0 < alpha < 1 or not alpha < power < 1:
        return None
    hi = 1.0
    while ttest_power(hi, n, alpha) < power:
        hi *= 2
        if hi > 1e6:
            return None
    from scipy import optimize

    return float(optimize.brentq(lambda d: ttest_power(d, n, alpha) - power, 0.0, hi, xtol=1e-10))


def minimum_detectable_effect(diffs, alpha: float = 0.05, power: float = DEFAULT_POWER) -> float | None:
    """The MDE on the scale of the scores: :func:`detectable_effect_size` × sd of the paired differences."""
    d = np.asarray(diffs, dtype=float)
    d = d[~np.isnan(d)]
    if d.size < 2:
        return None
    sd = float(np.std(d, ddof=1))
    if not sd > 1e-12 * max(float(np.max(np.abs(d))), 1e-300):
        return None
    es = detectable_effect_size(int(d.size), alpha, power)
    return None if es is None else es * sd
