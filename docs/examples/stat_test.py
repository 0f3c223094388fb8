"""A new paired test: the sign test, registered beside t-test, Wilcoxon, randomization and bootstrap."""
import numpy as np
from scipy.stats import binomtest

from lmkbench.stats import paired_test
from lmkbench.stats.registry import STAT_TESTS, register_test


@register_test("sign", help="sign test (binomial on the signs of the differences)",
               text="the sign test: under H0 a non-zero per-item difference is equally likely positive or negative "
                    "(exact binomial, ties dropped); the CI of the difference is a percentile bootstrap")
def sign_test(a, b, draws):
    """``a``, ``b``: paired per-item scores (NaN pairs already dropped); ``draws``: resampling settings."""
    d = np.asarray(a) - np.asarray(b)
    wins, losses = int((d > 0).sum()), int((d < 0).sum())
    if wins + losses == 0:
        return None, 1.0, "all differences zero"
    return float(wins - losses), float(binomtest(wins, wins + losses).pvalue), ""


def main():
    rng = np.random.default_rng(0)
    b = rng.uniform(0, 1, 60)
    a = np.clip(b + rng.normal(0.05, 0.1, 60), 0, 1)
    print([e.name for e in STAT_TESTS])                  # `--test sign` is now offered by compare and report
    result = paired_test(a, b, test="sign")
    print(result)


if __name__ == "__main__":
    main()
