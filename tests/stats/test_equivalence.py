"""Issue 30 item 3: "within training noise" is not "no difference". The equivalence test (TOST against a margin
±δ stated in advance) on the paired differences compare already tests, per row and per seed; the tilt of a
spread's per-seed Δs; the flag declared once."""
from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.weightstats import ttost_paired

from lmkbench.cli import build_parser, main
from lmkbench.stats.compare import compare
from lmkbench.stats.rows import Row
from lmkbench.stats.seeds import EQUIVALENT, WITHIN, seed_spread, spread_of
from lmkbench.stats.settings import DEFAULTS, FLAGS, STATS_PARAMS
from lmkbench.stats.table import equivalence_reading
from lmkbench.stats.tests import bootstrap_ci, bootstrap_means, paired_test, tost


@pytest.mark.parametrize("seed", range(12))
def test_tost_on_the_t_interval_agrees_with_statsmodels(seed):
    """The paired t path: the 90% t interval inside ±δ exactly when statsmodels' two one-sided t-tests both
    reject at 0.05, with the same p (the larger one-sided p)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 200))
    b = rng.uniform(0, 1, n)
    a = b + rng.normal(rng.uniform(-0.06, 0.06), rng.uniform(0.01, 0.2), n)
    margin = float(rng.choice([0.02, 0.05, 0.1]))
    res = paired_test(a, b, "ttest", equivalence_margin=margin, alpha=0.05)
    p_ref, *_ = ttost_paired(a, b, -margin, margin)
    assert res.p_tost == pytest.approx(float(p_ref), rel=1e-9, abs=1e-12)
    assert res.equivalent is bool(p_ref < 0.05)
    assert res.equivalent is (-margin < res.tost_low and res.tost_high < margin)
    # the 90% interval sits inside the 95% one reported beside it
    assert res.ci_low < res.tost_low < res.tost_high < res.ci_high


def test_tost_verdicts_both_ways():
    rng = np.random.default_rng(1)
    b = rng.uniform(0, 1, 400)
    close = paired_test(b + rng.normal(0.0, 0.05, 400), b, "ttest", equivalence_margin=0.05)
    far = paired_test(b + rng.normal(0.04, 0.3, 400), b, "ttest", equivalence_margin=0.05)
    assert close.equivalent is True and close.p_tost < 0.05
    assert far.equivalent is False and far.p_tost >= 0.05
    assert paired_test(b, b, "ttest").equivalent is None            # no margin asked: no verdict
    same = paired_test(b, b, "ttest", equivalence_margin=0.05)
    assert (same.tost_low, same.tost_high, same.equivalent) == (0.0, 0.0, True)


def test_tost_for_binary_scores_reads_the_bootstrap_interval_compare_produces():
    """McNemar's test has no t interval: compare's CI for 0/1 scores is the percentile bootstrap, and the TOST
    reads the 90% interval of the same resamples (same seed), not a second computation."""
    rng = np.random.default_rng(3)
    b = (rng.random(300) < 0.6).astype(float)
    a = b.copy()
    flip = rng.choice(300, 12, replace=False)
    a[flip] = 1 - a[flip]
    res = paired_test(a, b, "mcnemar", equivalence_margin=0.05, n_resamples=4000, seed=7)
    assert res.ci_method == "bootstrap" and res.p_tost is None
    means = bootstrap_means(a - b, 4000, 7)
    assert (res.tost_low, res.tost_high) == pytest.approx(bootstrap_ci(a - b, 0.90, means=means))
    assert (res.ci_low, res.ci_high) == pytest.approx(bootstrap_ci(a - b, 0.95, means=means))
    assert res.equivalent is (-0.05 < res.tost_low and res.tost_high < 0.05)
    lo, hi, p, eq = tost(a - b, 0.05, 0.05, "bootstrap", means=means)
    assert (lo, hi, p, eq) == (res.tost_low, res.tost_high, None, res.equivalent)


def test_compare_rows_carry_the_verdict_and_interval(records):
    cmp = compare(records, baseline="mean", equivalence_margin=0.05)
    assert cmp.settings["equivalence_margin"] == 0.05
    same = cmp.cell("toy", "m", "same", "all")              # identical scores: equivalent
    cls = cmp.cell("toy", "m", "cls", "all")                # 0.12 worse: not equivalent, and a loss
    assert same.equivalent is True and (same.tost_low, same.tost_high) == (0.0, 0.0)
    assert cls.equivalent is False and cls.mark == "loss" and cls.tost_high < -0.05
    wide = compare(records, baseline="mean", equivalence_margin=0.2).cell("toy", "m", "cls", "all")
    assert wide.equivalent is True and wide.mark == "loss"  # a real but small difference can be both
    # the row's test numbers are unchanged by the margin
    assert (wide.mean_diff, wide.p, wide.p_adj, wide.ci_low) == (cls.mean_diff, cls.p, cls.p_adj, cls.ci_low)
    row = cmp.to_dict()["rows"][1]
    assert {"tost_low", "tost_high", "p_tost", "equivalent"} <= set(row)
    text = cmp.to_table()
    assert "≈±0.05" in text and "90% CI of Δ lies inside ±0.05" in text
    assert "≈" in cmp.to_table(layout="summary").split("\n")[2]   # toy: 'same' is equivalent


def _row(model, pooling, diff, equivalent, base=False):
    return Row(task="t", model=model, pooling=pooling, is_baseline=base, metric="ndcg_at_10", bucket="all",
               axis="all", lo=None, hi=None, n=10, n_truncated=0, share_truncated=0.0, mean=0.5,
               mean_diff=None if base else diff, ci_low=None if base else diff - 0.01,
               ci_high=None if base else diff + 0.01, mde=0.02, n_paired=10,
               equivalent=None if base else equivalent)


def test_equivalent_in_every_seed_is_not_within_training_noise():
    rows = [_row(f"e-s{s}", "mean", None, None, base=True) for s in range(3)]
    rows += [_row("e-s0", "a", 0.01, True), _row("e-s1", "a", -0.01, True), _row("e-s2", "a", 0.0, True),
             _row("e-s0", "b", 0.01, True), _row("e-s1", "b", -0.30, False), _row("e-s2", "b", 0.2, False)]
    got = {s.pooling: s for s in seed_spread(rows, {"e-s0": 0, "e-s1": 1, "e-s2": 2})}
    a, b = got["a"], got["b"]
    assert a.reading == b.reading == WITHIN                     # both within training noise...
    assert a.equivalent_every_seed and equivalence_reading(a) == EQUIVALENT      # ...only one is no difference
    assert not b.equivalent_every_seed and b.n_equivalent == 1
    assert equivalence_reading(b) == "equivalent in 1 of 3 seeds"
    assert b.per_seed_equivalent == {"0": True, "1": False, "2": False}
    assert (a.n_le_0, a.n_ge_0) == (2, 2)                       # a Δ of exactly 0 counts on both sides


def test_the_tilt_of_a_spread():
    got = spread_of([-0.1, -0.02, 0.03])
    assert (got["n_le_0"], got["n_ge_0"]) == (2, 1) and got["within_noise"] is True


def test_the_flag_is_declared_once_and_checked(capsys):
    assert DEFAULTS["equivalence_margin"] == 0.05 and FLAGS["equivalence_margin"] == "--equivalence-margin"
    parser = build_parser()
    for command in ("compare", "report"):
        sub = parser._subparsers._group_actions[0].choices[command]
        action = next(a for a in sub._actions if "--equivalence-margin" in a.option_strings)
        assert action.default == STATS_PARAMS["equivalence_margin"].default
    assert main(["compare", ".", "--equivalence-margin", "0"]) == 2
    err = capsys.readouterr().err
    assert "--equivalence-margin" in err and "must be > 0" in err


def test_compare_cli_takes_the_margin(results_dir, tmp_path, capsys):
    out = tmp_path / "c.json"
    assert main(["compare", str(results_dir), "--equivalence-margin", "0.2", "--json", str(out)]) == 0
    import json

    data = json.loads(out.read_text())
    assert data["settings"]["equivalence_margin"] == 0.2
    assert "≈±0.2" in capsys.readouterr().out
