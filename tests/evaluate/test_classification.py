"""The classification evaluator: undersampling, scores against sklearn recomputed by hand, per-item records,
errors. (Agreement with mteb itself: test_mteb_agreement_labelled.py.)"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

from lmkbench.data.types import LabelledData
from lmkbench.errors import LmkbenchError
from lmkbench.evaluate.base import EVALUATORS, evaluator_for
from lmkbench.evaluate.classification import ClassificationEvaluator, undersample


def make_data(n_train_per_label=20, n_eval_per_label=10, n_labels=3, dim=8, spread=0.8, seed=0):
    """Gaussian clusters per label; rows interleave train and eval so splits are not contiguous."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_labels, dim)) * 2
    ids, texts, labels, vecs, splits = [], [], [], [], {"train": [], "test": []}
    per = n_train_per_label + n_eval_per_label
    for i in range(per * n_labels):
        lab = i % n_labels
        split = "train" if (i // n_labels) < n_train_per_label else "test"
        splits[split].append(i)
        ids.append(f"id{i}")
        texts.append(f"text number {i}")
        labels.append(["sport", "business", "science", "art", "music"][lab])
        vecs.append(centres[lab] + spread * rng.normal(size=dim))
    vecs = np.asarray(vecs, dtype=np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    data = LabelledData(name="toy", ids=ids, texts=texts, labels=labels, splits=splits)
    return data, dict(zip(ids, vecs))


def embed(evaluator, data, vec_of_id):
    return {name: np.stack([vec_of_id[i] for i in ids]) for name, (ids, _) in evaluator.text_sets(data).items()}


def test_registered():
    assert EVALUATORS["classification"] is ClassificationEvaluator
    assert isinstance(evaluator_for("classification", n_experiments=2), ClassificationEvaluator)


def test_undersample_counts_and_composed_shuffles():
    labels = ["a"] * 30 + ["b"] * 5 + ["c"] * 12
    sel = undersample(labels, 8, 4, seed=42)
    for chosen in sel:
        counts = Counter(labels[p] for p in chosen)
        assert counts == {"a": 8, "b": 5, "c": 8}               # capped at what a label has
        assert len(set(chosen)) == len(chosen)
    assert len({tuple(c) for c in sel}) == 4                     # experiments differ
    # experiment 1 is the positions shuffled twice by RandomState(42): the permutations compose
    perm = list(range(len(labels)))
    np.random.RandomState(42).shuffle(perm)
    np.random.RandomState(42).shuffle(perm)
    taken, expect = Counter(), []
    for p in perm:
        if taken[labels[p]] < 8:
            expect.append(p)
            taken[labels[p]] += 1
    assert sel[1] == expect
    assert undersample(labels, 8, 4, seed=42) == sel             # deterministic
    assert sorted(undersample(labels, None, 1)[0]) == list(range(len(labels)))


def test_text_sets_embed_only_used_training_rows():
    data, _ = make_data(n_train_per_label=50)
    ev = ClassificationEvaluator(n_experiments=3, samples_per_label=4)
    sets = ev.text_sets(data)
    used = set().union(*undersample([data.labels[r] for r in data.splits["train"]], 4, 3))
    assert len(sets["train"][0]) == len(used) < len(data.splits["train"])
    assert sets["eval"][0] == [data.ids[r] for r in data.splits["test"]]
    assert sets["eval"][1] == [data.texts[r] for r in data.splits["test"]]


def test_scores_equal_sklearn_recomputed_by_hand():
    data, vec = make_data(spread=1.6)
    ev = ClassificationEvaluator(n_experiments=4, samples_per_label=5)
    out = ev.evaluate(data, embed(ev, data, vec))
    train_rows, eval_rows = data.splits["train"], data.splits["test"]
    x_eval = np.stack([vec[data.ids[r]] for r in eval_rows])
    y_eval = [data.labels[r] for r in eval_rows]
    accs, f1s, preds = [], [], []
    for chosen in undersample([data.labels[r] for r in train_rows], 5, 4):
        rows = [train_rows[p] for p in chosen]
        clf = LogisticRegression(max_iter=100, random_state=42)
        clf.fit(np.stack([vec[data.ids[r]] for r in rows]), [data.labels[r] for r in rows])
        p = clf.predict(x_eval)
        accs.append(accuracy_score(y_eval, p))
        f1s.append(f1_score(y_eval, p, average="macro"))
        preds.append(p)
    assert out.main_metric == "accuracy"
    assert out.metrics["accuracy"] == pytest.approx(np.mean(accs), abs=1e-12)
    assert out.metrics["accuracy_std"] == pytest.approx(np.std(accs), abs=1e-12)
    assert out.metrics["f1_macro"] == pytest.approx(np.mean(f1s), abs=1e-12)
    assert out.metrics["f1_macro_std"] == pytest.approx(np.std(f1s), abs=1e-12)
    assert 0.3 < out.metrics["accuracy"] < 1.0                   # a task that is neither trivial nor hopeless
    for j, r in enumerate(eval_rows):
        rec = out.per_item[data.ids[r]]
        assert rec["label"] == y_eval[j]
        assert rec["predicted"] == preds[0][j]                   # experiment 0
        assert rec["correct"] == int(preds[0][j] == y_eval[j])
        assert rec["correct_rate"] == pytest.approx(np.mean([p[j] == y_eval[j] for p in preds]))
        assert rec["accuracy"] == rec["correct_rate"]
    # the per-item main metric averages to the reported one
    assert np.mean([v["accuracy"] for v in out.per_item.values()]) == pytest.approx(out.metrics["accuracy"])
    assert out.info["accuracy_per_experiment"] == pytest.approx(accs)


def test_separable_data_is_classified_perfectly_and_defaults_are_mtebs():
    data, vec = make_data(spread=0.05)
    ev = ClassificationEvaluator()
    assert (ev.n_experiments, ev.samples_per_label, ev.max_iter, ev.seed) == (10, 8, 100, 42)
    out = ev.evaluate(data, embed(ev, data, vec))
    assert out.metrics["accuracy"] == 1.0 and out.metrics["f1_macro"] == 1.0 and out.metrics["accuracy_std"] == 0.0
    assert all(v["correct"] == 1 for v in out.per_item.values())
    assert out.info["n_train_embedded"] <= len(data.splits["train"])


def test_all_training_rows():
    data, vec = make_data(n_train_per_label=6)
    ev = ClassificationEvaluator(samples_per_label=None, n_experiments=2)
    assert len(ev.text_sets(data)["train"][0]) == len(data.splits["train"])
    assert ev.evaluate(data, embed(ev, data, vec)).info["samples_per_label"] is None


def test_length_of_items():
    data, _ = make_data()
    data.item_meta = {"id3": {"source": "x"}}
    ev = ClassificationEvaluator()
    counts = {"eval": {data.ids[r]: r for r in data.splits["test"]}, "train": {}}
    trunc = {"eval": {data.ids[data.splits["test"][0]]: True}, "train": {}}
    out = ev.length_of_items(data, counts, trunc)
    assert set(out) == {data.ids[r] for r in data.splits["test"]}
    first = data.ids[data.splits["test"][0]]
    assert out[first] == {"length": data.splits["test"][0], "truncated": True}
    assert all(v["truncated"] is False for k, v in out.items() if k != first)


@pytest.mark.parametrize("options, message", [
    ({"n_experiments": 0}, "n_experiments"),
    ({"samples_per_label": -1}, "samples_per_label"),
    ({"samples_per_label": 2.5}, "samples_per_label"),
    ({"max_iter": True}, "max_iter"),
    ({"n_experiment": 3}, r"evaluator 'classification' has no option 'n_experiment' \(did you mean 'n_experiments'\?\)"),
])
def test_bad_options(options, message):
    with pytest.raises(LmkbenchError, match=message):
        ClassificationEvaluator(**options)


def test_bad_data():
    data, vec = make_data()
    ev = ClassificationEvaluator(n_experiments=2)
    with pytest.raises(LmkbenchError, match="'train' split"):
        ev.text_sets(LabelledData("d", data.ids, data.texts, data.labels, splits={"test": data.splits["test"]}))
    with pytest.raises(LmkbenchError, match="fewer than 2 labels"):
        ev.text_sets(LabelledData("d", data.ids, data.texts, ["x"] * len(data.ids), splits=data.splits))
    with pytest.raises(LmkbenchError, match="both 'test'"):
        ClassificationEvaluator(train_split="test").text_sets(data)
    emb = embed(ev, data, vec)
    emb["eval"] = emb["eval"][:-1]
    with pytest.raises(LmkbenchError, match="expected"):
        ev.evaluate(data, emb)
