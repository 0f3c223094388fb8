"""lmkbench's classification and clustering numbers equal mteb 2.26's on the same embeddings.

Each test builds a local mteb task (no hub) over the same rows, gives mteb an encoder that looks texts up
in a table of precomputed embeddings, runs ``mteb.evaluate(..., cache=None)`` and compares main scores
(to 1e-9) and per-item predictions (exactly, via mteb's ``prediction_folder``) with our evaluator fed the
same embeddings.

Data: a synthetic Gaussian-cluster fixture (always) and real rows from ../shared/data (banking77 for
classification, ag_news_test for clustering; skipped in a fresh clone). Real texts are embedded with
TF-IDF + truncated SVD, L2-normalised: cheap, derived from the text, and with realistic, imperfect
cluster structure (no neural model needed to test the protocol).
"""
from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

for _var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_var, "1")

mteb = pytest.importorskip("mteb")
datasets = pytest.importorskip("datasets")

from mteb._evaluators import ClusteringEvaluator as MtebClusteringEvaluator  # noqa: E402
from mteb.abstasks.classification import AbsTaskClassification  # noqa: E402
from mteb.abstasks.clustering import AbsTaskClustering  # noqa: E402
from mteb.abstasks.clustering_legacy import AbsTaskClusteringLegacy  # noqa: E402
from mteb.abstasks.task_metadata import TaskMetadata  # noqa: E402
from mteb.models.abs_encoder import AbsEncoder  # noqa: E402
from mteb.models.model_meta import ModelMeta  # noqa: E402

from lmkbench.data.types import LabelledData  # noqa: E402
from lmkbench.evaluate.base import evaluator_for  # noqa: E402
from lmkbench.evaluate.classification import ClassificationEvaluator  # noqa: E402
from lmkbench.evaluate.clustering import ClusteringEvaluator, mteb_bootstrap_v_measure  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
TOL = 1e-9


# -- mteb side: a lookup encoder and local tasks --------------------------------------------------------
class LookupEncoder(AbsEncoder):
    """An mteb encoder returning precomputed embeddings for known texts."""

    def __init__(self, table: dict[str, np.ndarray]):
        self.table = table
        dim = len(next(iter(table.values())))
        self.mteb_model_meta = ModelMeta(
            loader=None, name="lmkbench-test/lookup", revision="0", release_date=None, languages=None,
            n_parameters=None, memory_usage_mb=None, max_tokens=None, embed_dim=dim, license=None,
            open_weights=True, public_training_code=None, public_training_data=None, framework=[],
            similarity_fn_name="cosine", use_instructions=False, training_datasets=None)

    def encode(self, inputs, *, task_metadata, hf_split, hf_subset, prompt_type=None, **kwargs):
        return np.stack([self.table[text] for batch in inputs for text in batch["text"]])


def _metadata(name: str, main_score: str) -> TaskMetadata:
    return TaskMetadata(name=name, description="lmkbench agreement test", dataset={"path": "local/none", "revision": "0"},
                        type="Classification" if main_score == "accuracy" else "Clustering",
                        eval_splits=["test"], eval_langs=["eng-Latn"], main_score=main_score)


def classification_task(data: LabelledData, **attrs):
    def load_data(self, **kwargs):
        split = {name: datasets.Dataset.from_dict({"text": [data.texts[r] for r in rows],
                                                   "label": [data.labels[r] for r in rows]})
                 for name, rows in data.splits.items()}
        self.dataset = {"default": datasets.DatasetDict(split)}
        self.data_loaded = True

    cls = type("LocalClassification", (AbsTaskClassification,),
               {"metadata": _metadata("LocalClassification", "accuracy"), "load_data": load_data, **attrs})
    return cls()


def clustering_task(data: LabelledData, legacy: bool, **attrs):
    rows = data.splits.get(data.eval_split, range(len(data.ids)))
    texts, labels = [data.texts[r] for r in rows], [data.labels[r] for r in rows]

    def load_data(self, **kwargs):
        if legacy:     # one cluster set: the whole split
            split = datasets.Dataset.from_dict({"sentences": [texts], "labels": [labels]})
        else:
            split = datasets.Dataset.from_dict({"sentences": texts, "labels": labels})
        self.dataset = {"default": datasets.DatasetDict({"test": split})}
        self.data_loaded = True

    base = AbsTaskClusteringLegacy if legacy else AbsTaskClustering
    name = "LocalClusteringLegacy" if legacy else "LocalClustering"
    cls = type(name, (base,), {"metadata": _metadata(name, "v_measure"), "load_data": load_data, **attrs})
    return cls()


def run_mteb(task, table, tmp_path):
    # One BLAS/OpenMP thread, as our evaluators use: same arithmetic on both sides, and far less CPU on a
    # busy machine (results were also identical with mteb's default threads when we tried).
    with threadpool_limits(limits=1):
        result = mteb.evaluate(LookupEncoder(table), task, cache=None, prediction_folder=tmp_path,
                               encode_kwargs={"batch_size": 64, "show_progress_bar": False})
    scores = result.task_results[0].scores["test"][0]
    with open(tmp_path / task.prediction_file_name, encoding="utf-8") as fh:
        predictions = json.load(fh)["default"]["test"]
    return scores, predictions


def ours(evaluator, data: LabelledData, table):
    sets = evaluator.text_sets(data)
    embeddings = {name: np.stack([table[t] for t in texts]) for name, (_, texts) in sets.items()}
    return evaluator.evaluate(data, embeddings)


# -- data -------------------------------------------------------------------------------------------------
def synthetic(n_per_label=60, n_labels=5, dim=24, spread=1.6, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_labels, dim))
    ids, texts, labels, vectors = [], [], [], []
    for i in range(n_per_label * n_labels):
        lab = i % n_labels
        ids.append(f"s{i}")
        texts.append(f"synthetic text {i}")
        labels.append(f"label{lab}")
        vectors.append(centres[lab] + spread * rng.normal(size=dim))
    vectors = np.asarray(vectors, dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    n = len(ids)
    order = rng.permutation(n)
    data = LabelledData(name="synthetic", ids=ids, texts=texts, labels=labels,
                        splits={"train": sorted(order[: n // 2].tolist()), "test": sorted(order[n // 2:].tolist())})
    return data, dict(zip(texts, vectors))


def tfidf_table(texts, dim=48):
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    unique = sorted(set(texts))
    x = TfidfVectorizer(sublinear_tf=True).fit_transform(unique)
    z = TruncatedSVD(n_components=dim, random_state=0).fit_transform(x).astype(np.float32)
    z /= np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    return dict(zip(unique, z))


def read_jsonl(path):
    if not path.exists():
        pytest.skip(f"../shared/data not present (fresh clone): {path.name}")
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="module")
def banking77():
    rows = read_jsonl(SHARED_DATA / "banking77" / "banking77.jsonl")
    train = [r for r in rows if r["split"] == "train"][::4]        # 2,501 of 10,003 (>= 8 per label)
    test = [r for r in rows if r["split"] == "test"][::10]         # 308 of 3,080, all 77 labels
    keep = train + test
    data = LabelledData(name="banking77", ids=[f"r{i}" for i in range(len(keep))], texts=[r["text"] for r in keep],
                        labels=[r["label"] for r in keep],
                        splits={"train": list(range(len(train))), "test": list(range(len(train), len(keep)))})
    return data, tfidf_table(data.texts)


@pytest.fixture(scope="module")
def ag_news():
    rows = read_jsonl(SHARED_DATA / "ag_news_test" / "ag_news_test.jsonl")[:600]
    data = LabelledData(name="ag_news", ids=[r["_id"] for r in rows], texts=[r["text"] for r in rows],
                        labels=[r["label"] for r in rows], splits={"test": list(range(len(rows)))})
    return data, tfidf_table(data.texts)


# -- classification ---------------------------------------------------------------------------------------
def check_classification(data, table, tmp_path, samples_per_label):
    task = classification_task(data, samples_per_label=samples_per_label if samples_per_label else 10**9)
    scores, predictions = run_mteb(task, table, tmp_path)
    out = ours(ClassificationEvaluator(samples_per_label=samples_per_label), data, table)
    assert abs(out.metrics["accuracy"] - scores["accuracy"]) < TOL
    assert abs(out.metrics["f1_macro"] - scores["f1"]) < TOL
    assert [abs(a - s["accuracy"]) < TOL for a, s in zip(out.info["accuracy_per_experiment"],
                                                       scores["scores_per_experiment"])] == [True] * 10
    eval_ids = [data.ids[r] for r in data.splits["test"]]
    assert [out.per_item[i]["predicted"] for i in eval_ids] == [str(p) for p in predictions[0]]
    return out, scores


def test_classification_agrees_on_synthetic(tmp_path):
    data, table = synthetic()
    out, scores = check_classification(data, table, tmp_path, samples_per_label=8)
    assert 0.3 < scores["accuracy"] < 1.0        # neither trivial nor perfect: the comparison can fail


def test_classification_agrees_with_all_training_rows(tmp_path):
    data, table = synthetic(n_per_label=30, seed=1)
    check_classification(data, table, tmp_path, samples_per_label=None)


def test_classification_agrees_on_banking77(banking77, tmp_path):
    data, table = banking77
    out, scores = check_classification(data, table, tmp_path, samples_per_label=8)
    assert out.info["n_labels"] == 77 and out.info["n_train_embedded"] < len(data.splits["train"])
    assert 0.2 < scores["accuracy"] < 0.95


# -- clustering: the legacy evaluator (our main protocol) -------------------------------------------------
def check_legacy(data, table, tmp_path, n_runs):
    out = ours(ClusteringEvaluator(n_runs=n_runs), data, table)
    ids = [data.ids[r] for r in data.splits.get(data.eval_split, range(len(data.ids)))]
    for run in range(n_runs):
        evaluator = functools.partial(MtebClusteringEvaluator, seed=42 + run)
        scores, predictions = run_mteb(clustering_task(data, legacy=True, evaluator=evaluator), table,
                                       tmp_path / str(run))
        assert abs(out.info["v_measure_per_run"][run] - scores["v_measure"]) < TOL
        if run == 0:
            assert [out.per_item[i]["cluster"] for i in ids] == predictions[0]
    return out


def test_legacy_clustering_agrees_on_synthetic(tmp_path):
    data, table = synthetic(n_per_label=50, spread=2.2)
    out = check_legacy(data, table, tmp_path, n_runs=3)
    assert 0.05 < out.metrics["v_measure"] < 0.99
    assert abs(out.metrics["v_measure"] - np.mean(out.info["v_measure_per_run"])) < TOL


def test_legacy_clustering_agrees_on_ag_news(ag_news, tmp_path):
    data, table = ag_news
    out = check_legacy(data, table, tmp_path, n_runs=2)
    assert 0.05 < out.metrics["v_measure"] < 0.95


# -- clustering: mteb's bootstrap ("fast") protocol, our secondary number ---------------------------------
def test_bootstrap_clustering_agrees_with_mteb_defaults(tmp_path):
    """Default settings on both sides, including max_fraction_of_documents_to_embed = 0.04."""
    data, table = synthetic(n_per_label=120, n_labels=4, spread=1.2)   # 480 texts → mteb embeds 19
    scores, _ = run_mteb(clustering_task(data, legacy=False), table, tmp_path)
    out = ours(evaluator_for("clustering", n_runs=1, bootstrap=True), data, table)
    assert abs(out.metrics["v_measure_bootstrap"] - scores["v_measure"]) < TOL
    assert abs(out.metrics["v_measure_bootstrap_std"] - scores["v_measure_std"]) < TOL


def test_bootstrap_clustering_agrees_on_ag_news_whole_split(ag_news, tmp_path):
    data, table = ag_news
    scores, _ = run_mteb(clustering_task(data, legacy=False, max_fraction_of_documents_to_embed=None), table, tmp_path)
    x = np.stack([table[t] for t in data.texts])
    ours_scores = mteb_bootstrap_v_measure(x, data.labels, fraction=None)
    assert abs(np.mean(ours_scores) - scores["v_measure"]) < TOL
    assert [abs(a - b) < TOL for a, b in zip(ours_scores, scores["v_measures"]["Level 0"])] == [True] * 10
