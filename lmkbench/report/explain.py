"""The "how to read this report" text, generated from the Comparison's settings so it cannot drift from
what was actually computed."""
from __future__ import annotations

from typing import Any

from ..stats import buckets as bk

TESTS = {
    "ttest": "a paired t-test on the per-item score differences (scipy.stats.ttest_rel); the CI of the "
             "difference is the matching t interval",
    "wilcoxon": "the Wilcoxon signed-rank test on the per-item differences (scipy.stats.wilcoxon; pairs with a "
                "zero difference are dropped); the CI of the difference is a percentile bootstrap",
    "randomization": "a paired randomization (sign-flip permutation) test of the mean difference; the CI of the "
                     "difference is a percentile bootstrap",
    "bootstrap": "a paired bootstrap test of the mean difference (shift method); the CI of the difference is a "
                 "percentile bootstrap",
    "mcnemar": "McNemar's test on the discordant pairs (items one pooling gets right and the other wrong); exact "
               "binomial below 25 discordant pairs, else chi-square with continuity correction",
}

CORRECTIONS = {
    "holm": "Holm–Bonferroni step-down, which controls the family-wise error rate: the chance of even one false "
            "▲/▼ in the whole report is at most alpha",
    "bh": "Benjamini–Hochberg, which controls the false discovery rate: on average at most a share alpha of the "
          "▲/▼ marks are false",
    "none": "no correction: p-values are raw, so about one test in 1/alpha is 'significant' by chance alone",
}


def explanation(settings: dict[str, Any], tests_used: list[str], ci_resamples: int, seed: int | None) -> dict[str, Any]:
    edges = [bk.INF if e is None else e for e in settings.get("edges") or []]
    depth = settings.get("depth_edges") or []
    return {
        "baseline": settings.get("baseline"),
        "alpha": settings.get("alpha"),
        "min_n": settings.get("min_n"),
        "family_size": settings.get("family_size", 0),
        "family": settings.get("family", "all"),
        "n_families": settings.get("n_families", 1),
        "correction": settings.get("correction"),
        "correction_text": CORRECTIONS.get(settings.get("correction"), settings.get("correction")),
        "test": settings.get("test"),
        "tests": [{"name": t, "text": TESTS.get(t, t)} for t in tests_used],
        "binary_test": settings.get("binary_test"),
        "n_resamples": settings.get("n_resamples"),
        "ci_resamples": ci_resamples,
        "seed": seed,
        "edges": " | ".join(bk.format_edge(float(e)) for e in edges),
        "depth_edges": " | ".join(bk.format_edge(float(e)) for e in depth),
    }
