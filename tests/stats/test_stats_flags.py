"""The statistics settings are declared once (stats.settings.STATS_PARAMS): compare, report and check take their
flags, defaults, help and bounds from it, and compare(), the gate, the leaderboard and the report read the same
defaults (issue 27 item 4: they were restated in ~10 places)."""
from __future__ import annotations

import inspect

import pytest

from lmkbench.cli import build_parser, main
from lmkbench.stats.settings import DEFAULTS, FLAGS, STATS_PARAMS


def _sub(name):
    parser = build_parser()
    return next(a for a in parser._subparsers._group_actions[0].choices.items() if a[0] == name)[1]


@pytest.mark.parametrize("command", ["compare", "report", "check"])
def test_flags_come_from_the_declarations(command):
    sub = _sub(command)
    by_flag = {s: a for a in sub._actions for s in a.option_strings}
    for name, flag in FLAGS.items():
        if flag in by_flag:
            action = by_flag[flag]
            assert action.default == STATS_PARAMS[name].default
            assert f"default: {STATS_PARAMS[name].default}" in action.help


def test_bounds_are_the_declared_ones(capsys):
    assert main(["compare", ".", "--min-n", "0"]) == 2
    assert "must be >= 1" in capsys.readouterr().err
    assert main(["check", ".", "--baseline", "b.json", "--alpha", "1.5"]) == 2
    assert "must be < 1" in capsys.readouterr().err


def test_every_caller_defaults_to_the_declared_values():
    from lmkbench.gate import check
    from lmkbench.leaderboard.board import build_leaderboard
    from lmkbench.report.build import ReportOptions
    from lmkbench.stats.compare import compare
    from lmkbench.stats.ranking import rank_systems

    for fn in (compare, check, build_leaderboard, rank_systems):
        params = inspect.signature(fn).parameters
        for name in ("test", "correction", "alpha", "n_resamples", "seed"):
            if name in params:
                assert params[name].default == DEFAULTS[name], (fn.__name__, name)
    opts = ReportOptions()
    assert (opts.test, opts.alpha, opts.min_n, opts.n_resamples) == tuple(
        DEFAULTS[k] for k in ("test", "alpha", "min_n", "n_resamples"))
