"""The settings of a statistical comparison, declared once with the package's parameter schema
(:mod:`lmkbench.params`) and checked by the same code for :func:`~lmkbench.stats.compare.compare`,
:func:`~lmkbench.stats.ranking.rank_systems` and the CI gate (:func:`lmkbench.gate.check`). The tests and
corrections allowed are those registered (:mod:`.registry`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import LmkbenchError
from ..params import Param, Schema, to_float, to_int, to_str
from .registry import STAT_TESTS, binary_tests, correction_of

FAMILIES = ("task", "all", "bucket")


def _correction(value: Any) -> str:
    try:
        return correction_of(to_str(value)).name
    except LmkbenchError as exc:
        raise ValueError(str(exc)) from None


STATS_PARAMS: dict[str, Param] = {
    "test": Param(to_str, "ttest", "paired test"),
    "binary_test": Param(to_str, "mcnemar", "test for 0/1 scores (None: the paired test)", nullable=True),
    "correction": Param(_correction, "holm", "multiple-comparison correction (holm, bh, none)"),
    "family": Param(to_str, "task", "tests corrected together", choices=FAMILIES),
    "alpha": Param(to_float, 0.05, "significance level", gt=0, lt=1),
    "min_n": Param(to_int, 10, "pairs a bucket needs to be tested", ge=1),
    "min_delta": Param(to_float, 0.01, "smallest change the gate calls a regression", ge=0),
}


@dataclass(frozen=True)
class StatsSettings:
    """The checked settings of one caller. ``None``: not a setting of that caller (``min_n``: every pair count
    is tested; ``min_delta``: no smallest effect; ``binary_test``: no switch to a binary test; ``family``: the
    caller forms its families itself)."""

    test: str = "ttest"
    correction: str = "holm"
    alpha: float = 0.05
    binary_test: str | None = None
    family: str | None = None
    min_n: int | None = None
    min_delta: float | None = None


def check_settings(owner: str, *, tests: list[str] | tuple[str, ...] | None = None, **given) -> StatsSettings:
    """``given`` (a subset of :data:`STATS_PARAMS`) checked and converted; ``tests`` narrows the tests allowed
    (default: every registered test). A bad value is an :class:`~lmkbench.errors.LmkbenchError` naming
    ``owner`` and the setting."""
    params = {k: STATS_PARAMS[k] for k in given}
    if "test" in params:
        allowed = STAT_TESTS.names() if tests is None else tests
        params["test"] = Param(to_str, "ttest", "paired test", choices=tuple(allowed))
    if "binary_test" in params:
        params["binary_test"] = Param(to_str, "mcnemar", STATS_PARAMS["binary_test"].help,
                                      choices=tuple(binary_tests()), nullable=True)
    return StatsSettings(**Schema(params, owner=owner, noun="setting").check(given))
