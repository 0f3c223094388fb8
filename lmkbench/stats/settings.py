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
    "test": Param(to_str, "ttest", "paired test (binary 0/1 scores always use McNemar's test)"),
    "binary_test": Param(to_str, "mcnemar", "test for 0/1 scores (None: the paired test)", nullable=True),
    "correction": Param(_correction, "holm", "multiple-comparison correction within each family"),
    "family": Param(to_str, "task", "tests corrected together: task (one family per task and group), all, bucket",
                    choices=FAMILIES),
    "alpha": Param(to_float, 0.05, "significance level (after correction)", gt=0, lt=1),
    "min_n": Param(to_int, 10, "test only buckets with at least this many pairs", ge=1),
    "min_delta": Param(to_float, 0.01, "smallest change of the main metric that counts as a regression", ge=0),
    "n_resamples": Param(to_int, 10_000, "resamples for randomization/bootstrap tests and CIs", ge=1),
    "seed": Param(to_int, 0, "seed of all resampling"),
    "equivalence_margin": Param(to_float, 0.05, "equivalence margin ±δ in the tested score's units, stated before "
                                "reading: a Δ whose (1 - 2·alpha) CI lies inside ±δ is equivalent (TOST)", gt=0),
}
#: every statistics setting's default, read by compare(), the report, the gate, the leaderboard and the CLI
DEFAULTS: dict[str, Any] = {name: p.default for name, p in STATS_PARAMS.items()}
#: each setting's command-line flag (compare, report and check declare theirs with :func:`add_stats_arguments`)
FLAGS = {"test": "--test", "correction": "--correction", "family": "--family", "alpha": "--alpha",
         "min_n": "--min-n", "min_delta": "--min-delta", "n_resamples": "--resamples", "seed": "--seed",
         "equivalence_margin": "--equivalence-margin"}
_METAVARS = {"min_n": "N", "min_delta": "D", "n_resamples": "R", "equivalence_margin": "DELTA"}


def add_stats_arguments(parser, names, *, tests=None, helps: dict[str, str] | None = None) -> None:
    """Declare the flags of the statistics settings ``names`` on an argparse ``parser`` from
    :data:`STATS_PARAMS`: default, help, choices (the registered tests and corrections; ``tests`` narrows the
    tests) and bounds, checked by the setting's own :class:`~lmkbench.params.Param` (one error, exit 2)."""
    import argparse

    from .registry import CORRECTIONS, offered_tests

    for name in names:
        param = STATS_PARAMS[name]

        def convert(text, _p=param):
            try:
                return _p.check(text)
            except ValueError as exc:
                raise argparse.ArgumentTypeError(str(exc)) from None

        choices = {"test": tuple(tests or offered_tests()), "correction": tuple(CORRECTIONS.names())}.get(
            name, param.choices)
        kwargs = {"choices": choices} if choices else {"type": convert}
        parser.add_argument(FLAGS[name], default=param.default, metavar=_METAVARS.get(name),
                            help=f"{(helps or {}).get(name, param.help)} (default: {param.default})", **kwargs)


@dataclass(frozen=True)
class StatsSettings:
    """The checked settings of one caller. ``None``: not a setting of that caller (``min_n``: every pair count
    is tested; ``min_delta``: no smallest effect; ``binary_test``: no switch to a binary test; ``family``: the
    caller forms its families itself; ``equivalence_margin``: no equivalence test)."""

    test: str = DEFAULTS["test"]
    correction: str = DEFAULTS["correction"]
    alpha: float = DEFAULTS["alpha"]
    binary_test: str | None = None
    family: str | None = None
    min_n: int | None = None
    min_delta: float | None = None
    equivalence_margin: float | None = None


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
