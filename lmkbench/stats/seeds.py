"""Training noise: a matched experiment's differences across seeds, beside each seed's per-query test.

``lmkbench train-matched --seeds 0,1`` files each seed's results under its own label (``minilm-matched-s0``,
``minilm-matched-s1``, with the evaluation settings after ``~``) and records the seed in each result's
``meta.matched_seed``. A per-query CI says how sure one seed's Δ is about *those* checkpoints; the spread of Δ
across seeds says how much of it another training run would keep. :func:`seed_spread` puts both side by side
for every (task, experiment, pooling, bucket) that at least two seeds tested.

A Δ is **within training noise** when the range of its per-seed values is at least its mean's size
(``max − min ≥ |mean|``; always so when the seeds disagree in sign): the seeds disagree about it by as much
as it is. Otherwise it is beyond the seed spread; it is also significant when every seed's per-query test
marked it the same way (after the comparison's correction).

Within training noise is not *no difference*: the seeds may agree on nothing yet each seed's Δ may be far from 0.
"No difference" is a separate reading, **equivalent in every seed**: every seed's equivalence test (TOST against
the comparison's ``equivalence_margin``, :func:`lmkbench.stats.tests.tost`) put its Δ's 90% CI inside the margin.
And a spread whose Δs are small but lean one way says so in its tilt: ``n_le_0`` / ``n_ge_0``, how many per-seed
Δs are at most / at least 0 (a Δ of exactly 0 counts in both).
"""
from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from ..labels import SEPARATOR
from .rows import Row

WITHIN = "within training noise"
SIGNIFICANT = "beyond the seed spread; significant in every seed"
BEYOND = "beyond the seed spread; not significant in every seed"
EQUIVALENT = "equivalent in every seed"


@dataclass
class SeedSpread:
    """One pooling's Δ to the baseline in one bucket of one task, per seed and across seeds."""

    task: str
    model: str                                # the experiment's label without the seed (variant kept)
    pooling: str
    baseline: str
    metric: str                               # the per-item score tested (and the Δs' units)
    bucket: str
    seeds: list[int]
    per_seed: dict[str, float]                # seed -> Δ (mean difference over that seed's paired items)
    per_seed_ci: dict[str, list]              # seed -> [ci_low, ci_high] of the per-query test (None: not tested)
    per_seed_mark: dict[str, str | None]      # seed -> win | loss | None
    per_seed_mde: dict[str, float | None]     # seed -> minimum detectable effect of its per-query test
    mde: float | None                         # the largest per-seed MDE: the smallest Δ every seed could detect
    mean: float
    sd: float                                 # sample standard deviation of the per-seed Δs
    min: float
    max: float
    within_noise: bool                        # max - min >= |mean|
    reading: str                              # WITHIN | SIGNIFICANT | BEYOND
    n_paired: dict[str, int] = field(default_factory=dict)
    main_metric: str = ""                     # the task's headline metric (differs for clustering: whole-set)
    n_le_0: int = 0                           # per-seed Δs at most 0
    n_ge_0: int = 0                           # per-seed Δs at least 0
    per_seed_equivalent: dict[str, bool | None] = field(default_factory=dict)   # seed -> its TOST's verdict
    n_equivalent: int = 0                     # seeds whose Δ is equivalent (inside ±margin)
    equivalent_every_seed: bool = False       # the "no difference" reading (EQUIVALENT)


def experiment_label(model: str, seed) -> str | None:
    """A label without its seed: ``minilm-matched-s1~pi-4096`` with seed 1 → ``minilm-matched~pi-4096``, a
    selection's group ``512 · seed 1`` → ``512``, an arm ``minilm-cls-s1 · cls`` → ``minilm-cls · cls``; None
    when the label does not name that seed."""
    if seed is None:
        return None
    text = str(model)
    out = re.sub(rf"-s{int(seed)}(?=$|{re.escape(SEPARATOR)}| · |@)", "", text)
    out = re.sub(rf" · seed {int(seed)}$", "", out)
    return out if out != text else None


def spread_of(deltas: list[float]) -> dict:
    """The spread of one Δ across seeds: mean, sample sd, min, max, ``within_noise`` (max − min ≥ |mean|) and
    the tilt (``n_le_0`` / ``n_ge_0``: Δs at most / at least 0); sd and ``within_noise`` are None for a single
    seed. The one rule :func:`seed_spread` and ``matched.json``'s ``deltas``
    (:func:`lmkbench.train.matched.seed_deltas`) read training noise with."""
    mean = statistics.fmean(deltas)
    several = len(deltas) > 1
    return {"mean": mean, "sd": statistics.stdev(deltas) if several else None, "min": min(deltas),
            "max": max(deltas), "within_noise": (max(deltas) - min(deltas) >= abs(mean)) if several else None,
            "n_le_0": sum(d <= 0 for d in deltas), "n_ge_0": sum(d >= 0 for d in deltas)}


def seed_spread(rows: list[Row], seed_of: dict[str, int],
                main_metrics: dict[tuple[str, str], str] | None = None) -> list[SeedSpread]:
    """Every tested (task, experiment, pooling, bucket) with a Δ in two or more seeds; ``seed_of`` maps a model
    label to its matched seed (labels not in it are not seeds of an experiment); ``main_metrics`` a (task, model
    label)'s headline metric, where it is not the tested score."""
    baselines = {(r.task, r.model): r.pooling for r in rows if r.is_baseline}
    by: dict[tuple, dict[int, Row]] = {}
    for r in rows:
        if r.is_baseline or r.mean_diff is None or r.model not in seed_of:
            continue
        seed = seed_of[r.model]
        exp = experiment_label(r.model, seed)
        if exp is None:
            continue
        arm = experiment_label(r.pooling, seed) or r.pooling      # a selection's arm may name the seed too
        by.setdefault((r.task, exp, arm, r.bucket), {})[seed] = r
    out = []
    for (task, exp, pooling, bucket), per in by.items():
        if len(per) < 2:
            continue
        seeds = sorted(per)
        spread = spread_of([per[s].mean_diff for s in seeds])
        marks = [per[s].mark for s in seeds]
        reading = (WITHIN if spread["within_noise"] else
                   SIGNIFICANT if marks[0] and all(m == marks[0] for m in marks) else BEYOND)
        mdes = [per[s].mde for s in seeds if per[s].mde is not None]
        first = per[seeds[0]]
        equivalent = {str(s): per[s].equivalent for s in seeds}
        n_equivalent = sum(v is True for v in equivalent.values())
        out.append(SeedSpread(
            task=task, model=exp, pooling=pooling, baseline=baselines.get((first.task, first.model), ""),
            metric=first.metric, bucket=bucket, seeds=seeds, per_seed={str(s): per[s].mean_diff for s in seeds},
            per_seed_ci={str(s): None if per[s].ci_low is None else [per[s].ci_low, per[s].ci_high] for s in seeds},
            per_seed_mark={str(s): per[s].mark for s in seeds}, per_seed_mde={str(s): per[s].mde for s in seeds},
            mde=max(mdes) if mdes else None, reading=reading, n_paired={str(s): per[s].n_paired for s in seeds},
            main_metric=(main_metrics or {}).get((first.task, first.model)) or first.metric,
            per_seed_equivalent=equivalent, n_equivalent=n_equivalent,
            equivalent_every_seed=n_equivalent == len(seeds), **spread))
    return out


__all__ = ["BEYOND", "EQUIVALENT", "SIGNIFICANT", "SeedSpread", "WITHIN", "experiment_label", "seed_spread", "spread_of"]
