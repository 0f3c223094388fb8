"""The one paired-comparison path: pair by id → choose the test → test with its CI → correct within a family →
decide. :func:`~lmkbench.stats.compare.compare` (its rows and tables), :func:`~lmkbench.stats.ranking.rank_systems`
(the leaderboard's ranks) and the CI gate (:func:`lmkbench.gate.check`) are its clients; each says *what* to
compare (:class:`Block` of systems' scores and :class:`Contrast` s) and renders the :class:`Outcome` s.

1. **Pairing.** A contrast pairs system ``a`` with reference ``b`` on the ids both have (restricted to
   ``a_ids`` / ``b_ids`` when given, in the order of ``b_ids``); ids on one side only are counted
   (``n_unpaired``), pairs where either score is NaN are dropped and counted (``n_nan``).
2. **Test choice.** One test per block (:func:`~lmkbench.stats.tests.choose_test`): the binary test
   (McNemar's) when every system's finite scores in the block are 0/1, else the test asked for.
3. **Test and CI.** :func:`~lmkbench.stats.tests.paired_test` with the registered test, unless fewer than
   ``min_n`` pairs (then not tested: ``result`` is None). With an ``equivalence_margin`` (a setting), the same
   call runs the equivalence test (TOST, :func:`~lmkbench.stats.tests.tost`): the ``1 - 2·alpha`` CI of the
   difference, by the same method as the CI, inside ``±margin`` (not corrected: a claim of no difference per
   comparison).
4. **Correction.** The p-values of all tested contrasts of all blocks, within each ``family`` (a contrast's
   key), by the registered correction.
5. **Decision** (:func:`decide`): ``win`` / ``loss`` when the adjusted p is below ``alpha``, the effect is
   non-zero, in (against) the metric's direction and at least ``min_delta``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from .correction import adjust
from .settings import StatsSettings
from .tests import PairedResult, choose_test, paired_test


@dataclass(frozen=True, eq=False)
class Contrast:
    """One paired comparison: system ``a`` against reference ``b`` of the same :class:`Block`."""

    a: str
    b: str
    a_ids: Sequence[str] | None = None     # a's items to use (default: all a has)
    b_ids: Sequence[str] | None = None     # b's items, in the order pairs are formed (default: all b has)
    family: str = "all"                    # the correction family
    delta: float | None = None             # an aggregate effect that decides instead of the mean per-item
    #                                        difference (the gate: main metric now - baseline)
    greater_is_better: bool = True
    key: Any = None                        # the client's handle (a row, a pair of names, a cell)


@dataclass(frozen=True)
class Decision:
    significant: bool          # adjusted p < alpha
    agree: bool                # the mean per-item difference does not contradict ``delta``'s sign
    mark: str | None           # "win" | "loss" | None (not significant, no effect, disagreeing or too small)


@dataclass
class Outcome:
    """A contrast's pairs, its test (None: not tested) and, after correction, p_adj and the decision."""

    contrast: Contrast
    test: str
    a: np.ndarray              # scores over the paired ids (NaN kept)
    b: np.ndarray
    n_unpaired: int
    result: PairedResult | None = None
    p_adj: float | None = None
    family_size: int = 0
    decision: Decision | None = None

    @property
    def finite(self) -> np.ndarray:
        return ~(np.isnan(self.a) | np.isnan(self.b))

    @property
    def n_paired(self) -> int:
        return int(self.finite.sum())

    @property
    def n_nan(self) -> int:
        return int(self.a.size - self.n_paired)

    @property
    def diffs(self) -> np.ndarray:
        """``a - b`` over the pairs where both are numbers."""
        keep = self.finite
        return self.a[keep] - self.b[keep]

    @property
    def p(self) -> float | None:
        return self.result.p if self.result is not None else None

    @property
    def mean_diff(self) -> float | None:
        if self.result is not None:
            return self.result.mean_diff
        d = self.diffs
        return float(d.mean()) if d.size else None


@dataclass
class Block:
    """Systems scored on items (``{system: {id: score}}``, NaN/None = missing) and the contrasts among them.
    One test is chosen for the whole block from all its scores; ``what`` names the block in that error."""

    scores: Mapping[str, Mapping[str, float | None]]
    contrasts: Sequence[Contrast]
    what: str = ""
    test: str = ""                                   # chosen by run_paired
    outcomes: list[Outcome] = field(default_factory=list)


def _values(scores: Mapping[str, float | None]) -> np.ndarray:
    return np.array(list(scores.values()), dtype=float)


def pair(block: Block, c: Contrast, test: str) -> Outcome:
    """Step 1: the pairs of ``c`` (ids of both sides, in ``b``'s order)."""
    sa, sb = block.scores[c.a], block.scores[c.b]
    own = set(sa if c.a_ids is None else c.a_ids)
    ref = list(sb if c.b_ids is None else c.b_ids)
    ids = [i for i in ref if i in own]
    return Outcome(c, test, np.array([sa[i] for i in ids], dtype=float), np.array([sb[i] for i in ids], dtype=float),
                   n_unpaired=len(own.symmetric_difference(ref)))


def decide(p_adj: float | None, mean_diff: float | None, alpha: float, *, delta: float | None = None,
           min_delta: float | None = None, greater_is_better: bool = True) -> Decision:
    """Step 5: significant (``p_adj < alpha``) and an effect (``delta`` if given, else ``mean_diff``) that is
    non-zero, at least ``min_delta`` and not contradicted by ``mean_diff``'s sign: a ``win`` in the metric's
    direction, else a ``loss``."""
    significant = p_adj is not None and p_adj < alpha
    effect = mean_diff if delta is None else delta
    agree = delta is None or not mean_diff or (mean_diff < 0) == (delta < 0)
    mark = None
    if significant and agree and effect and abs(effect) >= (min_delta or 0.0):
        mark = "win" if (effect > 0) == greater_is_better else "loss"
    return Decision(significant, agree, mark)


def run_paired(blocks: Sequence[Block], settings: StatsSettings, **options) -> list[Block]:
    """Every step for every contrast of ``blocks`` (filled in place and returned); ``options`` go to
    :func:`~lmkbench.stats.tests.paired_test` (ci, confidence, n_resamples, seed, zero_method)."""
    for block in blocks:
        block.test = choose_test(settings.test, settings.binary_test, *map(_values, block.scores.values()),
                                 what=block.what)
        block.outcomes = [pair(block, c, block.test) for c in block.contrasts]
        for o in block.outcomes:
            if settings.min_n is None or o.n_paired >= settings.min_n:
                o.result = paired_test(o.a, o.b, block.test, equivalence_margin=settings.equivalence_margin,
                                       alpha=settings.alpha, **options)
    families: dict[str, list[Outcome]] = {}
    for o in (o for block in blocks for o in block.outcomes if o.p is not None):
        families.setdefault(o.contrast.family, []).append(o)
    for members in families.values():
        for o, p_adj in zip(members, adjust([o.p for o in members], settings.correction)):
            o.p_adj, o.family_size = p_adj, len(members)
    for o in (o for block in blocks for o in block.outcomes):
        o.decision = decide(o.p_adj, o.mean_diff, settings.alpha, delta=o.contrast.delta,
                            min_delta=settings.min_delta, greater_is_better=o.contrast.greater_is_better)
    return blocks
