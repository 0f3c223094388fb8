"""The "how to read this report" text, generated from the Comparison's settings so it cannot drift from
what was actually computed; the tests' and corrections' texts are those they registered with
(:mod:`lmkbench.stats.registry`)."""
from __future__ import annotations

from typing import Any

from ..stats import buckets as bk
from ..stats.registry import CORRECTIONS, STAT_TESTS, MethodRegistry
from ..stats.ties import resolution_text


def _text(registry: MethodRegistry, name: str | None):
    """The registered explanation of a test or correction (the name itself when it is not registered)."""
    return registry.method(name).text if name in registry else name


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
        "correction_text": _text(CORRECTIONS, settings.get("correction")),
        "test": settings.get("test"),
        "tests": [{"name": t, "text": _text(STAT_TESTS, t)} for t in tests_used],
        "binary_test": settings.get("binary_test"),
        "n_resamples": settings.get("n_resamples"),
        "ci_resamples": ci_resamples,
        "seed": seed,
        "edges": " | ".join(bk.format_edge(float(e)) for e in edges),
        "depth_edges": " | ".join(bk.format_edge(float(e)) for e in depth),
        "margin": settings.get("equivalence_margin"),
        "tost_level": f"{100 * (1 - 2 * settings.get('alpha', 0.05)):g}%",
        "resolutions": resolution_text(),
    }
