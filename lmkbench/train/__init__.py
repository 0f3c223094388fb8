"""Matched contrastive fine-tuning: one base model trained once per pooling on the same data and batches.

In the LMK paper every pooling is a separately fine-tuned model from the same base on the same data;
evaluating a mean-trained checkpoint with LMK pooling only measures a train/inference mismatch. This
package trains such matched checkpoints and evaluates each with its own pooling.

Modules: :mod:`.spec` (training pooling specs, ``train_g``), :mod:`.data` (BEIR / jsonl / Hugging Face
sources), :mod:`.mining` (TF-IDF hard negatives), :mod:`.forward` (differentiable pooled forward built
from :mod:`lmkbench.inputs` and :mod:`lmkbench.poolings`), :mod:`.loss` (InfoNCE + teacher KL),
:mod:`.state` (checkpoints), :mod:`.trainer` (the loop), :mod:`.matched` (train all, evaluate all).
"""
from .data import TrainExample, TrainingData, load_training_data
from .spec import TrainPooling, parse_train_pooling, parse_train_poolings
from .trainer import TrainConfig, TrainResult, train

__all__ = ["TrainConfig", "TrainExample", "TrainPooling", "TrainResult", "TrainingData", "load_training_data",
           "parse_train_pooling", "parse_train_poolings", "train"]
