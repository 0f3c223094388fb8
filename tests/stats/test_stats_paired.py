"""Paired tests checked against scipy and statsmodels (and, where cheap, brute-force enumeration)."""
import itertools
import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from lmkbench.errors import LmkbenchError
from lmkbench.stats.registry import STAT_TESTS
from lmkbench.stats.tests import (bootstrap_ci, bootstrap_means, bootstrap_p, default_batch, mcnemar_p,
                                  paired_test, randomization_p)


def pair(n, shift=0.05, seed=1):
    rng = np.random.default_rng(seed)
    b = rng.uniform(0, 1, n)
    return b + shift + rng.normal(0, 0.1, n), b


def test_ttest_matches_formula_and_scipy():
    a, b = pair(40)
    r = paired_test(a, b, "ttest")
    d = a - b
    t = d.mean() / (d.std(ddof=1) / math.sqrt(d.size))
    assert r.statistic == pytest.approx(t, rel=1e-9, abs=1e-9)
    assert r.p == pytest.approx(2 * stats.t.sf(abs(t), d.size - 1), rel=1e-9, abs=1e-12)
    ci = stats.ttest_rel(a, b).confidence_interval()
    assert (r.ci_low, r.ci_high) == pytest.approx((ci.low, ci.high), abs=1e-9)
    assert r.mean_diff == pytest.approx(d.mean(), abs=1e-12) and r.ci_method == "t"
    assert r.mean_a == pytest.approx(a.mean()) and r.mean_b == pytest.approx(b.mean())


def _wilcoxon_exact_bruteforce(d):
    """Two-sided exact signed-rank p by enumerating all sign patterns of the ranks (no ties, no zeros)."""
    ranks = stats.rankdata(np.abs(d))
    w_plus = ranks[d > 0].sum()
    null = [sum(r for r, s in zip(ranks, signs) if s) for signs in itertools.product([0, 1], repeat=d.size)]
    null = np.array(null)
    mean = ranks.sum() / 2
    return np.mean(np.abs(null - mean) >= abs(w_plus - mean) - 1e-9)


def test_wilcoxon_small_sample_matches_bruteforce():
    d = np.array([0.31, -0.12, 0.45, 0.08, -0.03, 0.27, 0.19, 0.51, -0.22, 0.36])
    r = paired_test(d, np.zeros_like(d), "wilcoxon")
    assert r.p == pytest.approx(_wilcoxon_exact_bruteforce(d), abs=1e-9)
    assert r.ci_method == "bootstrap" and r.ci_low < r.mean_diff < r.ci_high


@pytest.mark.parametrize("zero_method", ["wilcox", "pratt", "zsplit"])
def test_wilcoxon_zero_methods_follow_scipy(zero_method):
    a, b = pair(60)
    a[:10] = b[:10]                                 # ties: zero differences
    r = paired_test(a, b, "wilcoxon", zero_method=zero_method)
    ref = stats.wilcoxon(a - b, zero_method=zero_method)
    assert r.p == pytest.approx(ref.pvalue, abs=1e-12)
    assert zero_method in r.note
    with pytest.raises(LmkbenchError):
        paired_test(a, b, "wilcoxon", zero_method="nope")


def _scipy_perm(a, b, n_resamples, seed=0):
    return stats.permutation_test((a, b), lambda x, y, axis: np.mean(x - y, axis=axis), vectorized=True,
                                  permutation_type="samples", n_resamples=n_resamples, rng=np.random.default_rng(seed))


@pytest.mark.parametrize("n", [2, 5, 12])
def test_randomization_exact_matches_scipy_permutation_test(n):
    a, b = pair(n, seed=n)
    _, p, note = randomization_p(a, b, n_resamples=10_000)
    assert "exact" in note
    assert p == pytest.approx(_scipy_perm(a, b, np.inf).pvalue, abs=1e-9)


def test_randomization_monte_carlo_close_to_exact_and_seeded():
    a, b = pair(15, shift=0.04, seed=3)
    exact = _scipy_perm(a, b, np.inf).pvalue                      # 2**15 patterns
    _, p, note = randomization_p(a, b, n_resamples=20_000, seed=7)
    assert "random" in note
    se = math.sqrt(exact * (1 - exact) / 20_000)
    assert abs(p - exact) < 5 * se + 1e-4
    assert randomization_p(a, b, n_resamples=20_000, seed=7)[1] == p     # same seed, same p
    # +1 correction: never 0 even when no resample is as extreme
    _, p_far, _ = randomization_p(np.ones(40), np.zeros(40) + np.linspace(0, 0.01, 40), n_resamples=999)
    assert p_far == pytest.approx(1 / 1000)


def test_bootstrap_ci_matches_scipy_bootstrap():
    a, b = pair(300, seed=5)
    d = a - b
    batch = 64
    lo, hi = bootstrap_ci(d, 0.95, n_resamples=2000, seed=11, batch=batch)
    ref = stats.bootstrap((d,), np.mean, method="percentile", n_resamples=2000, batch=batch,
                          rng=np.random.default_rng(11), confidence_level=0.95)
    assert (lo, hi) == pytest.approx((ref.confidence_interval.low, ref.confidence_interval.high), abs=1e-9)
    # and with the default batch paired_test uses
    r = paired_test(a, b, "bootstrap", n_resamples=3000, seed=2)
    ref = stats.bootstrap((d,), np.mean, method="percentile", n_resamples=3000, batch=default_batch(d.size),
                          rng=np.random.default_rng(2))
    assert (r.ci_low, r.ci_high) == pytest.approx((ref.confidence_interval.low, ref.confidence_interval.high), abs=1e-9)
    # shift-method p from scipy's bootstrap distribution
    dist = ref.bootstrap_distribution
    expected = (1 + np.sum(np.abs(dist - d.mean()) >= abs(d.mean()))) / (dist.size + 1)
    assert r.p == pytest.approx(expected, abs=1e-12)


def test_bootstrap_p_under_null_is_not_small():
    rng = np.random.default_rng(0)
    b = rng.uniform(0, 1, 200)
    a = b + rng.normal(0, 0.1, 200)
    a = a - (a - b).mean()                              # mean difference zero up to rounding
    _, p, _ = bootstrap_p(a, b, n_resamples=2000, seed=0)
    assert p > 0.5


@pytest.mark.parametrize("n10,n01,concordant", [(3, 9, 50), (0, 6, 10), (12, 12, 5), (30, 12, 100), (40, 80, 7)])
def test_mcnemar_matches_statsmodels(n10, n01, concordant):
    a = np.array([1] * n10 + [0] * n01 + [1] * concordant + [0] * concordant)
    b = np.array([0] * n10 + [1] * n01 + [1] * concordant + [0] * concordant)
    stat, p, note = mcnemar_p(a, b)
    table = [[concordant, n10], [n01, concordant]]
    exact = n10 + n01 < 25
    ref = sm_mcnemar(table, exact=exact, correction=True)
    assert p == pytest.approx(ref.pvalue, abs=1e-9)
    assert stat == pytest.approx(ref.statistic, abs=1e-9)
    assert ("exact" in note) == exact
    r = paired_test(a, b, "mcnemar")
    assert r.mean_diff == pytest.approx((n10 - n01) / a.size)


def test_mcnemar_rejects_non_binary():
    with pytest.raises(LmkbenchError):
        mcnemar_p(np.array([0.5, 1.0]), np.array([1.0, 0.0]))


@pytest.mark.parametrize("test", STAT_TESTS.names())
def test_identical_runs_give_p_one(test):
    b = (np.arange(30) % 2).astype(float)
    r = paired_test(b, b.copy(), test)
    assert r.p == 1.0 and r.mean_diff == 0.0 and (r.ci_low, r.ci_high) == (0.0, 0.0) and r.n == 30


@pytest.mark.parametrize("test", ["ttest", "wilcoxon", "randomization", "bootstrap"])
def test_single_pair_and_empty_input(test):
    r = paired_test([0.7], [0.2], test)
    assert r.n == 1 and r.mean_diff == pytest.approx(0.5)
    assert r.p == {"ttest": None, "bootstrap": None, "wilcoxon": 1.0, "randomization": 1.0}[test]
    empty = paired_test([], [], test)
    assert empty.n == 0 and empty.p is None and empty.mean_diff is None and empty.ci_low is None


def test_nan_pairs_are_dropped_and_counted():
    a, b = pair(30)
    a[[2, 5]] = np.nan
    b[7] = np.nan
    r = paired_test(a, b, "ttest")
    keep = ~(np.isnan(a) | np.isnan(b))
    assert r.n == 27 and r.n_nan == 3 and "3 pair(s) with NaN dropped" in r.note
    assert r.p == pytest.approx(stats.ttest_rel(a[keep], b[keep]).pvalue, abs=1e-12)
    all_nan = paired_test([np.nan, np.nan], [0.1, 0.2], "wilcoxon")
    assert all_nan.n == 0 and all_nan.n_nan == 2 and all_nan.p is None


def test_constant_nonzero_difference():
    b = np.linspace(0.1, 0.5, 20)
    a = b + 0.1                                     # float noise makes the differences not bit-identical
    r = paired_test(a, b, "ttest")
    assert r.p == 0.0 and "zero variance" in r.note
    assert r.ci_low == pytest.approx(0.1) and r.ci_high == pytest.approx(0.1)
    assert paired_test(a, b, "wilcoxon").p == pytest.approx(stats.wilcoxon(a - b).pvalue)


def test_bad_arguments():
    with pytest.raises(LmkbenchError):
        paired_test([1, 2], [1], "ttest")
    with pytest.raises(LmkbenchError):
        paired_test([1, 2], [1, 3], "ztest")
    with pytest.raises(LmkbenchError):
        paired_test([1, 2], [1, 3], "ttest", ci="weird")


def test_bootstrap_means_reproducible():
    d = np.arange(10.0)
    assert np.array_equal(bootstrap_means(d, 100, seed=3), bootstrap_means(d, 100, seed=3))
    assert not np.array_equal(bootstrap_means(d, 100, seed=3), bootstrap_means(d, 100, seed=4))


def test_randomization_ties_in_the_null_distribution():
    # integer-valued differences (hit/miss outcomes): many resampled means equal the observed one exactly
    d = np.array([1, 1, 1, 0, -1, 1, 0, 1, -1, 1, 1, 0], dtype=float)
    _, p, note = randomization_p(d, np.zeros_like(d), n_resamples=10_000)
    assert "exact" in note
    assert p == pytest.approx(_scipy_perm(d, np.zeros_like(d), np.inf).pvalue, abs=1e-12)
    d40 = np.tile(d, 4)[:40]
    exact = stats.binomtest(int((d40 > 0).sum()), int((d40 != 0).sum())).pvalue   # sign-flip of ±1 = sign test
    _, p_mc, _ = randomization_p(d40, np.zeros_like(d40), n_resamples=20_000, seed=1)
    assert abs(p_mc - exact) < 5 * math.sqrt(exact * (1 - exact) / 20_000) + 1e-4
