"""The clustering evaluator: V-measure over seeded k-means runs, per-item majority-label correctness checked
against sklearn's contingency matrix, errors. (Agreement with mteb itself: test_mteb_agreement_labelled.py.)"""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import MiniBatchKMeans
from sklearn.metrics import v_measure_score
from sklearn.metrics.cluster import contingency_matrix
from threadpoolctl import threadpool_limits

from lmkbench.data.types import LabelledData
from lmkbench.errors import LmkbenchError
from lmkbench.evaluate.base import EVALUATORS, evaluator_for
from lmkbench.evaluate.clustering import ClusteringEvaluator, majority_correct, mteb_bootstrap_v_measure


def make_data(n_per_label=40, n_labels=4, dim=12, spread=1.0, seed=0, splits=None):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_labels, dim)) * 2
    n = n_per_label * n_labels
    labels = [f"topic{i % n_labels}" for i in range(n)]
    vecs = np.stack([centres[i % n_labels] + spread * rng.normal(size=dim) for i in range(n)]).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = [f"doc{i}" for i in range(n)]
    data = LabelledData(name="toy", ids=ids, texts=[f"text {i}" for i in range(n)], labels=labels,
                        splits=splits if splits is not None else {"test": list(range(n))})
    return data, dict(zip(ids, vecs))


def embed(evaluator, data, vec_of_id):
    return {name: np.stack([vec_of_id[i] for i in ids]) for name, (ids, _) in evaluator.text_sets(data).items()}


def test_registered():
    assert EVALUATORS["clustering"] is ClusteringEvaluator
    assert isinstance(evaluator_for("clustering", n_runs=2), ClusteringEvaluator)


def test_majority_correct_by_hand():
    labels = np.array([0, 0, 1, 1, 1, 2, 2, 0])
    clusters = np.array([7, 7, 7, 3, 3, 3, 9, 9])
    # cluster 7: {0,0,1} → 0; cluster 3: {1,1,2} → 1; cluster 9: {2,0} tie → 0 (smallest label)
    assert majority_correct(labels, clusters).tolist() == [1, 1, 0, 1, 1, 0, 0, 1]


def test_scores_against_sklearn():
    data, vec = make_data(spread=2.0)
    ev = ClusteringEvaluator(n_runs=3)
    out = ev.evaluate(data, embed(ev, data, vec))
    x = np.stack([vec[i] for i in data.ids])
    runs = []
    for seed in (42, 43, 44):
        with threadpool_limits(limits=1):      # only for speed on a busy machine; ids do not depend on it
            km = MiniBatchKMeans(n_clusters=4, batch_size=500, n_init="auto", random_state=seed).fit(x)
        runs.append(km.labels_)
    v = [v_measure_score(data.labels, r) for r in runs]
    purity = [contingency_matrix(data.labels, r).max(axis=0).sum() / len(r) for r in runs]
    assert out.main_metric == "v_measure"
    assert out.info["v_measure_per_run"] == pytest.approx(v, abs=1e-12)
    assert out.metrics["v_measure"] == pytest.approx(np.mean(v), abs=1e-12)
    assert out.metrics["v_measure_std"] == pytest.approx(np.std(v), abs=1e-12)
    assert out.metrics["purity"] == pytest.approx(np.mean(purity), abs=1e-12)
    assert 0.05 < out.metrics["v_measure"] < 0.99                  # informative, not trivial
    assert len(set(v)) > 1                                         # the seeds really differ
    assert [out.per_item[i]["cluster"] for i in data.ids] == runs[0].tolist()
    # per-item correctness: run 0's share of correct items is run 0's purity, the rates average to purity
    assert np.mean([out.per_item[i]["correct"] for i in data.ids]) == pytest.approx(purity[0])
    assert np.mean([out.per_item[i]["correct_rate"] for i in data.ids]) == pytest.approx(out.metrics["purity"])
    assert all(out.per_item[i]["label"] == lab for i, lab in zip(data.ids, data.labels))
    again = ev.evaluate(data, embed(ev, data, vec))
    assert again.metrics == out.metrics and again.per_item == out.per_item


def test_separated_clusters_score_one():
    data, vec = make_data(spread=0.02)
    ev = ClusteringEvaluator(n_runs=2)
    out = ev.evaluate(data, embed(ev, data, vec))
    assert out.metrics["v_measure"] == pytest.approx(1.0)
    assert out.metrics["purity"] == 1.0
    assert all(r["correct"] == 1 for r in out.per_item.values())


def test_uses_eval_split_or_all_rows():
    data, vec = make_data(splits={"train": list(range(0, 160, 2)), "test": list(range(1, 160, 2))})
    ev = ClusteringEvaluator(n_runs=1)
    ids, texts = ev.text_sets(data)["texts"]
    assert ids == [data.ids[r] for r in range(1, 160, 2)] and texts[0] == data.texts[1]
    out = ev.evaluate(data, embed(ev, data, vec))
    assert set(out.per_item) == set(ids)
    data.splits = {}
    assert len(ev.text_sets(data)["texts"][0]) == 160


def test_length_of_items():
    data, _ = make_data(n_per_label=3)
    data.item_meta = {"doc1": {"subject": "hi"}}
    counts = {"texts": {i: n for n, i in enumerate(data.ids)}}
    out = ClusteringEvaluator().length_of_items(data, counts, {"texts": {"doc1": True}})
    assert out["doc1"] == {"length": 1, "truncated": True, "subject": "hi"}
    assert out["doc0"] == {"length": 0, "truncated": False}


def test_bootstrap_option_adds_mtebs_fast_score():
    data, vec = make_data(n_per_label=60, spread=1.5)
    ev = ClusteringEvaluator(n_runs=1, bootstrap=True, bootstrap_fraction=None)
    out = ev.evaluate(data, embed(ev, data, vec))
    x = np.stack([vec[i] for i in data.ids])
    boot = mteb_bootstrap_v_measure(x, data.labels, fraction=None)
    assert out.metrics["v_measure_bootstrap"] == pytest.approx(np.mean(boot), abs=1e-12)
    assert out.metrics["v_measure_bootstrap_std"] == pytest.approx(np.std(boot), abs=1e-12)
    assert len(boot) == 10 and 0 < np.mean(boot) < 1
    assert "v_measure_bootstrap" not in ClusteringEvaluator(n_runs=1).evaluate(data, embed(ev, data, vec)).metrics
    with pytest.raises(LmkbenchError, match="bootstrap_fraction"):
        mteb_bootstrap_v_measure(x, data.labels, fraction=0.005)     # int(0.005 * 240) = 1 text


@pytest.mark.parametrize("options, message", [
    ({"n_runs": 0}, "n_runs"),
    ({"seed": -1}, "seed"),
    ({"batch_size": 1.5}, "batch_size"),
    ({"bootstrap_fraction": 1.5}, "bootstrap_fraction"),
    ({"bootstrap_fraction": "all"}, "bootstrap_fraction"),
    ({"k": 3}, "evaluator 'clustering' has no option 'k'"),
])
def test_bad_options(options, message):
    with pytest.raises(LmkbenchError, match=message):
        ClusteringEvaluator(**options)


def test_bad_data():
    data, vec = make_data(n_per_label=5)
    ev = ClusteringEvaluator()
    with pytest.raises(LmkbenchError, match="at least 2 distinct labels"):
        ev.text_sets(LabelledData("d", data.ids, data.texts, ["same"] * len(data.ids)))
    with pytest.raises(LmkbenchError, match="no 'test' split"):
        ev.text_sets(LabelledData("d", data.ids, data.texts, data.labels, splits={"train": [0, 1, 2]}))
    emb = embed(ev, data, vec)
    emb["texts"] = emb["texts"][:-2]
    with pytest.raises(LmkbenchError, match="got 18 embeddings for 20"):
        ev.evaluate(data, emb)
