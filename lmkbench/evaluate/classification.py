"""Classification: few-shot logistic regression on frozen embeddings, exactly as mteb does it.

This reproduces mteb 2.26's ``AbsTaskClassification`` (non cross-validation path) number for number:

* ``n_experiments`` experiments (default 10). Experiment ``i`` trains on ``samples_per_label`` texts per
  label (default 8, mteb's default) taken from the train split and is scored on the whole eval split.
* The training rows are drawn the way mteb's ``_undersample_data`` draws them: a list of train-split
  positions ``[0..n)`` is shuffled in place with ``numpy.random.RandomState(seed).shuffle`` *once per
  experiment* (the shuffles compose: experiment ``i`` sees the list shuffled ``i + 1`` times), then
  the first ``samples_per_label`` positions of each label are kept, in shuffled order. ``seed`` is 42 as
  in mteb. ``samples_per_label=None`` trains on the whole train split (every experiment then sees the
  same rows in a different order).
* The classifier is ``sklearn.linear_model.LogisticRegression(max_iter=100, random_state=seed)``.
* Metrics are the means over experiments of ``accuracy_score`` and macro ``f1_score`` (mteb's ``f1``),
  with their population standard deviation (``numpy.std``) as ``*_std``.

Only the union of training rows that some experiment uses is embedded (mteb does the same), so a large
train split costs little.

Per item (every eval-split text): ``label`` (gold), ``predicted`` and ``correct`` (0/1) from
**experiment 0**, the classifier mteb reports first in ``scores_per_experiment``; ``correct_rate``, the
fraction of experiments that classified the text correctly; and ``accuracy``, equal to ``correct_rate``,
so that the mean of the per-item main metric over all items equals ``metrics["accuracy"]`` (a bucket's
mean is then that bucket's accuracy). ``correct`` is the binary outcome McNemar's test needs; both
poolings are trained on the same rows, so the pairs are matched.

The fits run with BLAS/OpenMP limited to one thread (``threadpoolctl``): the problems are tiny (a few
hundred training rows), thread start-up and spinning dominated, and on a shared 2-core machine one thread
used 20× less CPU with bit-identical predictions.
"""
from __future__ import annotations

import warnings
from collections import defaultdict
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from threadpoolctl import threadpool_limits

from ..data.types import LabelledData
from ..errors import LmkbenchError
from ..params import Param, to_int, to_str
from .base import EvalOutput, Evaluator, register_evaluator, text_lengths

MTEB_SAMPLES_PER_LABEL = 8
MTEB_N_EXPERIMENTS = 10
MTEB_MAX_ITER = 100
MTEB_SEED = 42
#: per-item fields that are scores (``label`` and ``predicted`` describe the item)
ITEM_SCORES = ("accuracy", "correct", "correct_rate")


def undersample(train_labels: list[Any], samples_per_label: int | None, n_experiments: int,
                seed: int = MTEB_SEED) -> list[list[int]]:
    """Train-split positions used by each experiment, drawn as mteb's ``_undersample_data`` draws them.

    The same Python list is shuffled in place by a fresh ``RandomState(seed)`` before every experiment,
    so the permutations compose; within an experiment the first ``samples_per_label`` positions of each
    label in shuffled order are kept (all of them when ``samples_per_label`` is None).
    """
    positions = list(range(len(train_labels)))
    selections = []
    for _ in range(n_experiments):
        np.random.RandomState(seed).shuffle(positions)
        taken: dict[Any, int] = defaultdict(int)
        chosen = []
        for pos in positions:
            label = train_labels[pos]
            if samples_per_label is None or taken[label] < samples_per_label:
                chosen.append(pos)
                taken[label] += 1
        selections.append(chosen)
    return selections


@register_evaluator("classification")
class ClassificationEvaluator(Evaluator):
    """logistic regression on few-shot train rows, mteb 2.26's protocol (all defaults are mteb's)"""

    params = {
        "n_experiments": Param(to_int, MTEB_N_EXPERIMENTS, "seeded undersamplings, one classifier each", ge=1),
        "samples_per_label": Param(to_int, MTEB_SAMPLES_PER_LABEL, "train texts per label (None: the whole "
                                                                   "train split)", ge=1, nullable=True),
        "train_split": Param(to_str, "train", "split the classifier trains on"),
        "max_iter": Param(to_int, MTEB_MAX_ITER, "LogisticRegression max_iter", ge=1),
        "seed": Param(to_int, MTEB_SEED, "seed of the undersampling and the classifier", ge=0),
    }

    # -- which rows -------------------------------------------------------------------------------
    def _rows(self, data: LabelledData, split: str) -> list[int]:
        if split not in data.splits:
            raise LmkbenchError(f"{data.name}: classification needs a {split!r} split "
                                f"(the data has: {', '.join(data.splits) or 'no splits'})")
        rows = list(data.splits[split])
        if not rows:
            raise LmkbenchError(f"{data.name}: the {split!r} split is empty")
        return rows

    def _plan(self, data: LabelledData):
        """Train rows, eval rows, each experiment's train-split positions and their sorted union."""
        train_rows = self._rows(data, self.train_split)
        eval_rows = self._rows(data, data.eval_split)
        if self.train_split == data.eval_split:
            raise LmkbenchError(f"{data.name}: train split and eval split are both {data.eval_split!r}")
        train_labels = [data.labels[r] for r in train_rows]
        if len(set(train_labels)) < 2:
            raise LmkbenchError(f"{data.name}: the {self.train_split!r} split has fewer than 2 labels")
        selections = undersample(train_labels, self.samples_per_label, self.n_experiments, self.seed)
        union = sorted(set().union(*selections))
        return train_rows, eval_rows, selections, union

    def text_sets(self, data: LabelledData):
        train_rows, eval_rows, _, union = self._plan(data)
        used = [train_rows[p] for p in union]
        return {"train": ([data.ids[r] for r in used], [data.texts[r] for r in used]),
                "eval": ([data.ids[r] for r in eval_rows], [data.texts[r] for r in eval_rows])}

    def length_of_items(self, data: LabelledData, token_counts, truncated, split=None):
        return text_lengths(data, self._rows(data, data.eval_split), "eval", token_counts, truncated, split)

    # -- scoring ----------------------------------------------------------------------------------
    def evaluate(self, data: LabelledData, embeddings) -> EvalOutput:
        train_rows, eval_rows, selections, union = self._plan(data)
        x_train_all = np.asarray(embeddings["train"])
        x_eval = np.asarray(embeddings["eval"])
        if len(x_train_all) != len(union) or len(x_eval) != len(eval_rows):
            raise LmkbenchError(f"{data.name}: got {len(x_train_all)} train / {len(x_eval)} eval embeddings, "
                                f"expected {len(union)} / {len(eval_rows)} (text_sets order)")
        row_of_position = {p: i for i, p in enumerate(union)}
        y_eval = np.array([data.labels[r] for r in eval_rows])

        accuracies, f1s, predictions = [], [], []
        n_unconverged = 0
        with threadpool_limits(limits=1):          # see the module docstring: tiny fits, threads only cost
            for chosen in selections:
                x_train = x_train_all[[row_of_position[p] for p in chosen]]
                y_train = np.array([data.labels[train_rows[p]] for p in chosen])
                model = LogisticRegression(max_iter=self.max_iter, random_state=self.seed)
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", ConvergenceWarning)
                    model.fit(x_train, y_train)
                n_unconverged += any(issubclass(w.category, ConvergenceWarning) for w in caught)
                y_pred = model.predict(x_eval)
                accuracies.append(float(accuracy_score(y_eval, y_pred)))
                f1s.append(float(f1_score(y_eval, y_pred, average="macro")))
                predictions.append(y_pred)

        hits = np.stack([p == y_eval for p in predictions])          # experiments × items
        correct_rate = hits.mean(axis=0)
        per_item = {}
        for j, r in enumerate(eval_rows):
            per_item[data.ids[r]] = {"label": str(y_eval[j]), "predicted": str(predictions[0][j]),
                                     "correct": int(hits[0, j]), "correct_rate": float(correct_rate[j]),
                                     "accuracy": float(correct_rate[j])}
        metrics = {"accuracy": float(np.mean(accuracies)), "accuracy_std": float(np.std(accuracies)),
                   "f1_macro": float(np.mean(f1s)), "f1_macro_std": float(np.std(f1s))}
        info = {"protocol": "mteb 2.26 AbsTaskClassification: LogisticRegression on samples_per_label "
                            "train texts per label, n_experiments seeded undersamplings",
                **self.options,
                "n_train_rows": len(train_rows), "n_train_embedded": len(union), "n_eval": len(eval_rows),
                "n_labels": len(set(data.labels[r] for r in train_rows)),
                "accuracy_per_experiment": accuracies, "f1_macro_per_experiment": f1s,
                "unconverged_experiments": int(n_unconverged),
                "per_item_prediction": "experiment 0"}
        main = data.main_metric if data.main_metric in metrics else "accuracy"
        return EvalOutput(metrics, per_item, main, info=info, item_scores=ITEM_SCORES)
