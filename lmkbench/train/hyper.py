"""The training hyper-parameters' bounds, declared once (:mod:`lmkbench.params`) and checked twice: by the
command line at parse time (a bad ``--lr`` is an argparse error, exit 2) and by :func:`check_config` for a
:class:`~lmkbench.train.trainer.TrainConfig` built in Python.

Floats must be finite: ``nan`` passes every ``<`` / ``>`` test the wrong way (``not nan <= 0``), and an
``inf`` learning rate or temperature trains nothing useful.
"""
from __future__ import annotations

import argparse
import math

from ..errors import LmkbenchError
from ..params import Param, Schema, to_float, to_int


def finite_float(v) -> float:
    x = to_float(v)
    if not math.isfinite(x):
        raise ValueError(f"must be a finite number, got {v!r}")
    return x


#: the largest seed torch.manual_seed accepts (an unsigned 64-bit integer); numpy's generators take any
SEED_MAX = 2**64 - 1

HYPERPARAMETERS = Schema({
    "steps": Param(to_int, 100, "optimizer steps", ge=1),
    "batch_size": Param(to_int, 16, "queries per batch (in-batch negatives need two)", ge=2),
    "lr": Param(finite_float, 2e-5, "peak learning rate", gt=0),
    "temperature": Param(finite_float, 0.02, "InfoNCE temperature", gt=0),
    "query_max_length": Param(to_int, 128, "tokens per query", ge=4),
    "doc_max_length": Param(to_int, 512, "tokens per document", ge=4),
    "seed": Param(to_int, 0, "seed", ge=0, le=SEED_MAX),
    "hard_negatives": Param(to_int, None, "negatives per example", ge=0),
    "max_examples": Param(to_int, None, "examples used", ge=1),
    "warmup_ratio": Param(finite_float, 0.1, "warm-up share of the steps", ge=0, le=1),
    "weight_decay": Param(finite_float, 0.01, "AdamW weight decay", ge=0),
    "kl_weight": Param(finite_float, 1.0, "weight of the teacher KL term", ge=0),
    "max_grad_norm": Param(finite_float, 1.0, "gradient clipping norm (0: none)", ge=0),
    "save_every": Param(to_int, 0, "checkpoint interval (0: only the end)", ge=0),
    "keep_checkpoints": Param(to_int, 1, "checkpoints kept", ge=1),
}, owner="train")


#: the flags' help where it says more than the declaration's one line, and their metavars
FLAG_HELP = {
    "batch_size": "queries per batch, >= 2",
    "seed": "seed of data order, interval draws and dropout",
    "hard_negatives": "negatives per example: the first N of a row's 'negatives'; for beir: sources, N mined with "
                      "TF-IDF",
    "max_examples": "use only the first N examples",
    "save_every": "checkpoint every N steps (0: only the end)",
    "keep_checkpoints": "keep the last K checkpoints",
}
#: what a default of None means, where "none" would not say it
FLAG_DEFAULTS = {"hard_negatives": "all the data has, none for beir:", "max_examples": "all"}
FLAG_METAVARS = {"hard_negatives": "N", "max_examples": "N", "save_every": "N", "keep_checkpoints": "K"}


def flag_of(name: str) -> str:
    """A hyper-parameter's command-line flag: ``batch_size`` → ``--batch-size``."""
    return "--" + name.replace("_", "-")


def default_of(name: str):
    """A hyper-parameter's declared default (what :class:`~lmkbench.train.trainer.TrainConfig` and the flags use)."""
    return HYPERPARAMETERS[name].default


def arg_type(name: str):
    """An argparse ``type=`` that converts and range-checks ``name`` (an error names the bound it breaks)."""
    param = HYPERPARAMETERS[name]

    def convert(text: str):
        try:
            return param.check(text)
        except (TypeError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = name
    return convert


def check_config(cfg) -> None:
    """Every declared hyper-parameter of ``cfg`` within its bounds, else one :class:`LmkbenchError` naming the
    command-line flag."""
    for name, param in HYPERPARAMETERS.items():
        value = getattr(cfg, name, None)
        try:
            param.check(value)
        except (TypeError, ValueError) as exc:
            raise LmkbenchError(f"--{name.replace('_', '-')}: {exc}") from None
