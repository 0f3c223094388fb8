"""The training hyper-parameters are declared once (lmkbench.train.hyper.HYPERPARAMETERS): train and
train-matched take their flags, defaults, help and bounds from it, and TrainConfig defaults to the same values
(issue 27 item 4: they were restated in four places)."""
from __future__ import annotations

import dataclasses

import pytest

from lmkbench.cli import build_parser
from lmkbench.train.hyper import HYPERPARAMETERS, flag_of


def _sub(name):
    return build_parser()._subparsers._group_actions[0].choices[name]


@pytest.mark.parametrize("command", ["train", "train-matched"])
def test_every_hyperparameter_is_a_flag_with_its_declared_default(command):
    by_flag = {s: a for a in _sub(command)._actions for s in a.option_strings}
    for name, param in HYPERPARAMETERS.items():
        action = by_flag[flag_of(name)]
        assert action.default == (None if name == "seed" else param.default), name
        assert "default" in action.help


def test_train_config_defaults_are_the_declared_ones():
    from lmkbench.train.trainer import TrainConfig

    fields = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    for name, param in HYPERPARAMETERS.items():
        assert fields[name] == param.default, name


def test_parsed_flags_reach_the_config():
    from lmkbench.commands.train import config_kwargs

    args = _sub("train").parse_args(["--model", "m", "--pooling", "mean", "--data", "d.jsonl", "--out", "o",
                                     "--max-grad-norm", "0.5", "--lr", "1e-4"])
    kw = config_kwargs(args)
    assert kw["max_grad_norm"] == 0.5 and kw["lr"] == 1e-4 and kw["seed"] == HYPERPARAMETERS["seed"].default
    with pytest.raises(SystemExit):
        _sub("train").parse_args(["--model", "m", "--pooling", "mean", "--data", "d", "--out", "o", "--lr", "-1"])
