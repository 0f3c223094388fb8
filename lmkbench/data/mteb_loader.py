"""Any mteb retrieval, classification or clustering task as lmkbench data.

``mteb.get_task(name).load_data()`` fetches the task's data (from the Hugging Face hub: needs a network);
the functions here convert what mteb holds in ``task.dataset`` into :class:`RetrievalData` or
:class:`LabelledData`, so the same text is embedded by lmkbench's encoder and scored by lmkbench's
evaluators (per query / per item, with length buckets). A custom local task (an ``AbsTask`` subclass whose
``load_data`` fills ``self.dataset``) converts the same way, with no network.

Conversions follow mteb's own conventions:

* retrieval: ``dataset[hf_subset][split]`` is a ``RetrievalSplitData`` (corpus rows ``id, title, text``;
  queries ``id, text``; ``relevant_docs``); v1-format tasks are converted first with the task's own
  ``convert_v1_dataset_format_to_v2``. Queries with an ``instruction`` column get it appended as mteb's
  default does (``"text instruction"``). Reranking candidates (``top_ranked``) are not used: lmkbench
  searches the whole corpus.
* classification: the task's ``train_split`` and the eval split, columns ``input_column_name`` /
  ``label_column_name``.
* clustering: the eval split; legacy tasks (rows are *cluster sets*: lists of texts and labels) are
  flattened into one set; hierarchical labels (a list per text) keep their first level.
"""
from __future__ import annotations

from typing import Any

from ..errors import LmkbenchError
from .types import LabelledData, RetrievalData

MTEB_KINDS = {"Retrieval": "retrieval", "Classification": "classification", "Clustering": "clustering"}


def get_mteb_task(name: str | None = None, *, task_class: str | None = None, languages=None, hf_subsets=None,
                  eval_splits=None):
    """``mteb.get_task(name)`` (metadata only, works offline), or an instance of ``"module:Class"``."""
    try:
        import mteb
    except ImportError:
        raise LmkbenchError("mteb tasks need the 'mteb' package (pip install mteb)") from None
    if task_class:
        import importlib

        mod_name, _, cls_name = task_class.partition(":")
        try:
            cls = getattr(importlib.import_module(mod_name), cls_name)
        except (ImportError, AttributeError) as exc:
            raise LmkbenchError(f"mteb task class {task_class!r} not found: {exc}") from None
        return cls()
    try:
        return mteb.get_task(name, languages=languages, hf_subsets=hf_subsets, eval_splits=eval_splits)
    except KeyError as exc:
        raise LmkbenchError(f"unknown mteb task {name!r}: {exc}") from None


def mteb_kind(task) -> str:
    kind = MTEB_KINDS.get(task.metadata.type)
    if kind is None:
        raise LmkbenchError(f"mteb task {task.metadata.name} is of type {task.metadata.type!r}; lmkbench runs "
                            f"{', '.join(MTEB_KINDS)} tasks")
    return kind


def load_mteb_task(task, *, split: str | None = None, hf_subset: str | None = None, name: str | None = None,
                   languages=None, task_class: str | None = None):
    """Load an mteb task (a name or an ``AbsTask`` instance) and convert one split of one subset."""
    if isinstance(task, str) or task is None:
        # only the split and subset asked for get loaded (LongEmbed passkey has 8 splits, MLDR 13 languages)
        task = get_mteb_task(task, task_class=task_class, languages=languages,
                             hf_subsets=[hf_subset] if hf_subset else None, eval_splits=[split] if split else None)
    meta = task.metadata
    split = split or meta.eval_splits[0]
    if split not in meta.eval_splits:
        raise LmkbenchError(f"mteb task {meta.name} has no eval split {split!r} (splits: {', '.join(meta.eval_splits)})")
    subsets = list(meta.hf_subsets) if meta.is_multilingual else ["default"]
    hf_subset = hf_subset or subsets[0]
    if hf_subset not in subsets:
        raise LmkbenchError(f"mteb task {meta.name} has no subset {hf_subset!r} (subsets: {', '.join(subsets[:12])}"
                            f"{', ...' if len(subsets) > 12 else ''})")
    kind = mteb_kind(task)
    try:
        task.load_data()
    except LmkbenchError:
        raise
    except Exception as exc:  # hub unreachable, dataset moved, ...
        raise LmkbenchError(f"mteb could not load {meta.name}: {type(exc).__name__}: "
                            f"{str(exc).splitlines()[0] if str(exc) else ''} (mteb tasks need a network)") from None
    name = name or meta.name
    revision = meta.dataset.get("revision", "")
    source = f"mteb:{meta.name} ({meta.dataset.get('path', '')}@{revision}, subset {hf_subset}, split {split})"
    checksums = {f"hf:{meta.dataset.get('path', '')}": f"revision {revision}"}
    if kind == "retrieval":
        if hasattr(task, "convert_v1_dataset_format_to_v2"):
            task.convert_v1_dataset_format_to_v2(num_proc=None)
        data = retrieval_from_split(task.dataset[hf_subset][split], name=name, split=split)
    else:
        ds = _subset_dict(task.dataset, hf_subset, split)
        text_col = getattr(task, "input_column_name", "text")
        label_col = getattr(task, "label_column_name", "label")
        if not isinstance(text_col, str):
            raise LmkbenchError(f"mteb task {meta.name} has several input columns {text_col}; lmkbench embeds text only")
        if kind == "classification":
            if getattr(task, "is_cross_validation", False):
                raise LmkbenchError(f"mteb task {meta.name} uses cross-validation; not supported")
            data = classification_from_splits(ds, train_split=task.train_split, eval_split=split, text_col=text_col,
                                              label_col=label_col, name=name)
        else:
            data = clustering_from_split(ds[split], eval_split=split, text_col=text_col, label_col=label_col, name=name)
    data.source, data.checksums = source, checksums
    data.info.update(mteb_task=meta.name, mteb_revision=revision, hf_subset=hf_subset, main_score=meta.main_score)
    return data


def _subset_dict(dataset, hf_subset: str, split: str):
    """mteb keeps monolingual data either as ``{split: ...}`` or as ``{"default": {split: ...}}``."""
    if split in dataset and hf_subset == "default":
        return dataset
    if hf_subset in dataset:
        return dataset[hf_subset]
    raise LmkbenchError(f"mteb dataset has neither split {split!r} nor subset {hf_subset!r} (keys: {list(dataset)})")


def retrieval_from_split(split_data, *, name: str, split: str) -> RetrievalData:
    corpus: dict[str, tuple[str, str]] = {}
    for row in split_data["corpus"]:
        doc_id = str(row["id"])
        if doc_id in corpus:
            raise LmkbenchError(f"mteb task {name}: duplicate corpus id {doc_id!r}")
        corpus[doc_id] = (row.get("title") or "", row.get("text") or "")
    queries: dict[str, str] = {}
    for row in split_data["queries"]:
        text = row.get("text") or ""
        instruction = row.get("instruction")
        queries[str(row["id"])] = f"{text} {instruction}".strip() if instruction else text
    qrels = {str(q): {str(d): int(g) for d, g in docs.items()} for q, docs in split_data["relevant_docs"].items()}
    missing = [q for q in qrels if q not in queries]
    if missing:
        raise LmkbenchError(f"mteb task {name}: {len(missing)} judged queries are not among the queries "
                            f"(first: {missing[0]!r})")
    queries = {q: t for q, t in queries.items() if q in qrels}
    data = RetrievalData(name=name, split=split, corpus=corpus, queries=queries, qrels=qrels)
    data.info.update(n_docs=len(corpus), n_queries=len(queries), n_qrels=sum(len(v) for v in qrels.values()),
                     reranking_candidates_ignored=split_data.get("top_ranked") is not None)
    return data


def _label(value: Any) -> str:
    if isinstance(value, (list, tuple)):      # hierarchical clustering labels: keep the top level
        if not value:
            raise LmkbenchError("empty hierarchical label")
        value = value[0]
    return str(value)


def classification_from_splits(ds, *, train_split: str, eval_split: str, text_col: str, label_col: str,
                               name: str) -> LabelledData:
    ids, texts, labels, splits = [], [], [], {}
    for split in (train_split, eval_split):
        if split not in ds:
            raise LmkbenchError(f"mteb task {name} has no {split!r} split (has: {', '.join(ds)})")
        rows = ds[split]
        start = len(ids)
        for i, (text, label) in enumerate(zip(rows[text_col], rows[label_col])):
            ids.append(f"{split}-{i}")
            texts.append(text or "")
            labels.append(_label(label))
        splits[split] = list(range(start, len(ids)))
    data = LabelledData(name=name, ids=ids, texts=texts, labels=labels, splits=splits, eval_split=eval_split)
    data.info.update(rows=len(ids), split_sizes={k: len(v) for k, v in splits.items()})
    return data


def clustering_from_split(rows, *, eval_split: str, text_col: str, label_col: str, name: str) -> LabelledData:
    texts, labels = [], []
    flattened = False
    for text, label in zip(rows[text_col], rows[label_col]):
        if isinstance(text, (list, tuple)):   # legacy: one row is a whole cluster set
            flattened = True
            texts.extend(t or "" for t in text)
            labels.extend(_label(x) for x in label)
        else:
            texts.append(text or "")
            labels.append(_label(label))
    ids = [f"{eval_split}-{i}" for i in range(len(texts))]
    data = LabelledData(name=name, ids=ids, texts=texts, labels=labels, splits={eval_split: list(range(len(ids)))},
                        eval_split=eval_split, main_metric="v_measure")
    data.info.update(rows=len(ids), legacy_cluster_sets_flattened=flattened)
    return data
