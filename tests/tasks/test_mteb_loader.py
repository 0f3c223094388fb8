"""The ``mteb`` loader converts any mteb task's data to lmkbench data, tested offline on local mteb tasks.

A built-in mteb task needs the hub for ``load_data``; here ``mteb.get_task`` is made to return custom local
tasks (or a ``task_class`` is imported), so everything after the lookup is the real conversion path.
"""
from __future__ import annotations

import textwrap

import pytest

mteb = pytest.importorskip("mteb")
datasets = pytest.importorskip("datasets")

from mteb.abstasks.classification import AbsTaskClassification  # noqa: E402
from mteb.abstasks.clustering import AbsTaskClustering  # noqa: E402
from mteb.abstasks.clustering_legacy import AbsTaskClusteringLegacy  # noqa: E402
from mteb.abstasks.task_metadata import TaskMetadata  # noqa: E402

from lmkbench.data.beir import load_beir_folder  # noqa: E402
from lmkbench.data.mteb_loader import load_mteb_task  # noqa: E402
from lmkbench.errors import LmkbenchError  # noqa: E402
from lmkbench.tasks import resolve_tasks  # noqa: E402
from test_mteb_retrieval_agreement import local_retrieval_task  # noqa: E402


def _meta(name, kind, main_score, splits=("test",)):
    return TaskMetadata(name=name, description="local", dataset={"path": f"local/{name}", "revision": "1"},
                        type=kind, eval_splits=list(splits), eval_langs=["eng-Latn"], main_score=main_score)


def classification_task():
    def load_data(self, **kw):
        self.dataset = {"default": datasets.DatasetDict({
            "train": datasets.Dataset.from_dict({"text": ["a", "b", "c", "d"], "label": [0, 1, 0, 1]}),
            "test": datasets.Dataset.from_dict({"text": ["e", "f"], "label": [1, 0]})})}
        self.data_loaded = True

    return type("LocalCls", (AbsTaskClassification,), {"metadata": _meta("LocalCls", "Classification", "accuracy"),
                                                        "load_data": load_data})()


def clustering_task(legacy: bool):
    texts = ["t1", "t2", "t3"]

    def load_data(self, **kw):
        if legacy:   # rows are whole cluster sets
            split = datasets.Dataset.from_dict({"sentences": [texts[:2], texts[2:3]], "labels": [["x", "y"], ["x"]]})
        else:
            # hierarchical labels (a list per text, coarse to fine): the top level is kept
            split = datasets.Dataset.from_dict({"sentences": texts, "labels": [["x", "x1"], ["y", "y1"], ["x", "x2"]]})
        self.dataset = {"default": datasets.DatasetDict({"test": split})}
        self.data_loaded = True

    base = AbsTaskClusteringLegacy if legacy else AbsTaskClustering
    return type("LocalClu", (base,), {"metadata": _meta("LocalClu", "Clustering", "v_measure"), "load_data": load_data})()


def test_retrieval_conversion_equals_the_beir_folder(tiny_beir):
    data = load_mteb_task(local_retrieval_task(tiny_beir))
    ref = load_beir_folder(tiny_beir)
    assert data.corpus == ref.corpus
    assert data.queries == {q: ref.queries[q] for q in ref.evaluated_query_ids()}
    assert data.qrels == ref.qrels and data.split == "test"
    assert list(data.doc_texts()) == list(ref.doc_texts())  # title + " " + text, as mteb and lmkbench both join
    assert data.info["mteb_task"] == "LmkbenchAgreementRetrieval" and data.source.startswith("mteb:")


def test_classification_and_clustering_conversion():
    cls = load_mteb_task(classification_task())
    assert cls.texts == list("abcdef") and cls.labels == ["0", "1", "0", "1", "1", "0"]
    assert cls.splits == {"train": [0, 1, 2, 3], "test": [4, 5]} and cls.eval_split == "test"
    fast = load_mteb_task(clustering_task(legacy=False))
    assert fast.texts == ["t1", "t2", "t3"] and fast.labels == ["x", "y", "x"] and fast.splits == {"test": [0, 1, 2]}
    legacy = load_mteb_task(clustering_task(legacy=True))
    assert legacy.texts == ["t1", "t2", "t3"] and legacy.labels == ["x", "y", "x"]
    assert legacy.info["legacy_cluster_sets_flattened"] is True


def test_mteb_spec_goes_through_get_task(tiny_beir, monkeypatch):
    asked = []

    def fake_get_task(name, **kwargs):
        asked.append((name, kwargs))
        return local_retrieval_task(tiny_beir) if name == "LocalRetrieval" else classification_task()

    monkeypatch.setattr(mteb, "get_task", fake_get_task)
    (t,) = resolve_tasks("mteb:LocalRetrieval")
    assert t.kind == "retrieval" and t.name == "LocalRetrieval" and t.availability()[0] == "network"
    data = t.load()
    assert data.name == "LocalRetrieval" and len(data.queries) == 8
    (c,) = resolve_tasks("mteb:LocalCls#test?group=classification")
    assert c.kind == "classification" and c.group == "classification" and c.load().splits["test"] == [4, 5]
    assert asked[0][0] == "LocalRetrieval"
    with pytest.raises(LmkbenchError, match="has no eval split 'dev'"):
        resolve_tasks("mteb:LocalRetrieval#dev")[0].load()


def test_task_class_param_imports_a_custom_task(tmp_path, tiny_beir, monkeypatch):
    (tmp_path / "my_mteb_tasks.py").write_text(textwrap.dedent(f"""\
        from pathlib import Path
        from test_mteb_retrieval_agreement import local_retrieval_task

        def MyTask():
            return local_retrieval_task(Path({str(tiny_beir)!r}))
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "t.yaml").write_text(textwrap.dedent("""\
        tasks:
          - {name: my_mteb, loader: mteb, kind: retrieval, group: short-retrieval,
             params: {task_class: "my_mteb_tasks:MyTask"}}
        """))
    (t,) = resolve_tasks(str(tmp_path / "t.yaml"))
    assert t.availability() == ("yes", "")
    assert len(t.load().corpus) == 10


def test_unknown_mteb_task_is_a_clear_error():
    with pytest.raises(LmkbenchError, match="unknown mteb task 'NoSuchTaskAnywhere'"):
        resolve_tasks("mteb:NoSuchTaskAnywhere")
