"""The settings of a statistical comparison, declared once with the package's parameter schema
(:mod:`lmkbench.params`) and checked by the same code for :func:`~lmkbench.stats.compare.compare`,
:func:`~lmkbench.stats.ranking.rank_systems` and the CI gate (:func:`lmkbench.gate.check`)."""
from __future__ import annotations

from typing import Any

from ..errors import LmkbenchError
from ..params import Param, Schema, to_float, to_int, to_str
from .correction import normalise_method
from .tests import TESTS

FAMILIES = ("task", "all", "bucket")


def _correction(value: Any) -> str:
    try:
        return normalise_method(to_str(value))
    except LmkbenchError as exc:
        raise ValueError(str(exc)) from None


STATS_PARAMS: dict[str, Param] = {
    "test": Param(to_str, "ttest", "paired test", choices=TESTS),
    "binary_test": Param(to_str, "mcnemar", "test for 0/1 scores (None: the paired test)", choices=("mcnemar",),
                         nullable=True),
    "correction": Param(_correction, "holm", "multiple-comparison correction (holm, bh, none)"),
    "family": Param(to_str, "task", "tests corrected together", choices=FAMILIES),
    "alpha": Param(to_float, 0.05, "significance level", gt=0, lt=1),
    "min_n": Param(to_int, 10, "pairs a bucket needs to be tested", ge=1),
    "min_delta": Param(to_float, 0.01, "smallest change the gate calls a regression", ge=0),
}


def check_settings(owner: str, *, tests: tuple[str, ...] = TESTS, **given) -> dict[str, Any]:
    """``given`` (a subset of :data:`STATS_PARAMS`) checked and converted, in the order given (so a caller may
    unpack ``.values()``); ``tests`` narrows the tests allowed. A bad value is an
    :class:`~lmkbench.errors.LmkbenchError` naming ``owner`` and the setting."""
    params = {k: STATS_PARAMS[k] for k in given}
    if "test" in params:
        params["test"] = Param(to_str, "ttest", "paired test", choices=tests)
    return Schema(params, owner=owner, noun="setting").check(given)
