"""Matched contrastive fine-tuning: one base model trained once per pooling on the same data and batches.

In the LMK paper every pooling is a separately fine-tuned model from the same base on the same data;
evaluating a mean-trained checkpoint with LMK pooling only measures a train/inference mismatch. This
package trains such matched checkpoints and evaluates each with its own pooling.

Modules: :mod:`.spec` (training pooling specs, ``train_g``), :mod:`.data` (BEIR / jsonl / Hugging Face
sources), :mod:`.mining` (TF-IDF hard negatives), :mod:`.forward` (differentiable pooled forward built
from :mod:`lmkbench.inputs` and :mod:`lmkbench.poolings`), :mod:`.loss` (InfoNCE + teacher KL),
:mod:`.state` (checkpoints), :mod:`.trainer` (the loop), :mod:`.matched` (train all, evaluate all).

The names below load on first use, so that ``lmkbench --help`` (which reads :mod:`.hyper` for the training
flags' bounds) does not import torch.
"""
from __future__ import annotations

import importlib

_PUBLIC = {"TrainExample": "data", "TrainingData": "data", "load_training_data": "data",
           "TrainPooling": "spec", "parse_train_pooling": "spec", "parse_train_poolings": "spec",
           "TrainConfig": "trainer", "TrainResult": "trainer", "train": "trainer"}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(importlib.import_module(f"{__name__}.{_PUBLIC[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_PUBLIC))
