"""Run any lmkbench pooled encoder under ``mteb.evaluate``: mteb's tasks, lmkbench's poolings.

``lmkbench run`` evaluates with lmkbench's own evaluators (per-query scores, length buckets). This adapter
goes the other way: it wraps :class:`~lmkbench.encoder.PooledEncoder` plus one pooling spec as an mteb
encoder (``mteb.models.abs_encoder.AbsEncoder``), so every mteb task type (STS, reranking, pair
classification, ...) and mteb's own result files are available for LMK, CLS, mean or any registered
pooling, with the same inputs (special tokens, landmark insertion, truncation or windows) as ``lmkbench run``.

    from lmkbench.mteb_adapter import MtebPooledEncoder
    model = MtebPooledEncoder("minilm", pooling="lmk", max_length=512, cache_dir=False)
    result = mteb.evaluate(model, mteb.get_task("SciFact"), cache=None)

Encoding is symmetric (queries and documents alike, no prompts): mteb's ``prompt_type`` is ignored.
Embeddings are L2-normalised and scored by cosine similarity.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .encoder import PooledEncoder
from .errors import LmkbenchError
from .export.mteb import mteb_model_name
from .poolings import make_pooling

try:
    from mteb.models.abs_encoder import AbsEncoder
    from mteb.models.model_meta import ModelMeta
except ImportError as _exc:  # pragma: no cover - mteb is an optional extra
    raise LmkbenchError("lmkbench.mteb_adapter needs mteb (pip install 'lmkbench[eval]')") from _exc


class MtebPooledEncoder(AbsEncoder):
    """An mteb encoder backed by a :class:`PooledEncoder` and one pooling spec.

    ``model`` is a :class:`PooledEncoder` or anything :class:`PooledEncoder` accepts (an alias such as
    ``minilm``, a local folder, a hub name); extra keyword arguments go to :class:`PooledEncoder`.
    ``name`` is the mteb model name (must contain ``/``; default ``lmkbench/<model>__<pooling>``), so
    results for different poolings of one checkpoint never collide in mteb's result cache.
    """

    def __init__(self, model: PooledEncoder | str, pooling: str = "mean", *, name: str | None = None,
                 **encoder_kwargs: Any):
        self.encoder = model if isinstance(model, PooledEncoder) else PooledEncoder(model, **encoder_kwargs)
        if isinstance(model, PooledEncoder) and encoder_kwargs:
            raise LmkbenchError("pass encoder options to PooledEncoder, not to MtebPooledEncoder, when giving an encoder")
        self.pooling = str(make_pooling(pooling).spec)
        loaded = self.encoder.loaded
        self.model = loaded.model
        name = name or mteb_model_name(loaded.label, self.pooling)   # as `lmkbench export --format mteb` names it
        if "/" not in name:
            raise LmkbenchError(f"mteb model names need an organisation part ('org/name'), got {name!r}")
        self.mteb_model_meta = ModelMeta(
            loader=None, name=name, revision=loaded.identity, release_date=None, languages=None,
            n_parameters=sum(p.numel() for p in loaded.model.parameters()), memory_usage_mb=None,
            max_tokens=self.encoder.max_length, embed_dim=int(loaded.model.config.hidden_size), license=None,
            open_weights=True, public_training_code=None, public_training_data=None, framework=["PyTorch"],
            similarity_fn_name="cosine", use_instructions=False, training_datasets=None,
            experiment_kwargs={"pooling": self.pooling, "max_length": self.encoder.max_length,
                               "long_policy": self.encoder.long_policy})

    def encode(self, inputs, *, task_metadata, hf_split: str, hf_subset: str, prompt_type=None,
               **kwargs: Any) -> np.ndarray:
        texts: list[str] = []
        for batch in inputs:
            if "text" not in batch:
                raise LmkbenchError(f"MtebPooledEncoder encodes text only; the batch has {sorted(batch)}")
            texts.extend(t if isinstance(t, str) else "" for t in batch["text"])
        desc = f"mteb/{task_metadata.name}/{hf_split}" + (f"/{prompt_type.value}" if prompt_type is not None
                                                          and hasattr(prompt_type, "value") else "")
        out = self.encoder.encode(texts, [self.pooling], desc=desc)
        return out.embeddings[self.pooling]


def mteb_encoders(model: str, poolings: list[str], **encoder_kwargs: Any) -> list[MtebPooledEncoder]:
    """One mteb encoder per pooling, sharing a single loaded model (and its embedding cache)."""
    shared = PooledEncoder(model, **encoder_kwargs)
    return [MtebPooledEncoder(shared, p) for p in poolings]


def local_beir_task(folder, name: str = "LmkbenchLocalRetrieval", split: str = "test", *, keep_per_query: bool = False):
    """A custom mteb retrieval task over a local BEIR folder, for offline comparisons with ``mteb.evaluate``.

    The files are read with plain json/csv, not lmkbench's loader, so the mteb side stays an independent
    reference. ``keep_per_query=True`` keeps pytrec_eval's per-query NDCG@10 in ``task.per_query``.
    """
    import csv
    import json
    from pathlib import Path

    import datasets
    from mteb.abstasks.retrieval import AbsTaskRetrieval
    from mteb.abstasks.retrieval_dataset_loaders import RetrievalSplitData
    from mteb.abstasks.task_metadata import TaskMetadata

    folder = Path(folder)

    def read_jsonl(path):
        with open(path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def load_data(self, **kwargs):
        corpus = [{"id": str(r["_id"]), "title": r.get("title") or "", "text": r.get("text") or ""}
                  for r in read_jsonl(folder / "corpus.jsonl")]
        qrels: dict[str, dict[str, int]] = {}
        with open(folder / "qrels" / f"{split}.tsv", encoding="utf-8") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
        queries = [{"id": str(r["_id"]), "text": r["text"]} for r in read_jsonl(folder / "queries.jsonl")
                   if str(r["_id"]) in qrels]
        self.dataset = {"default": {split: RetrievalSplitData(
            corpus=datasets.Dataset.from_list(corpus), queries=datasets.Dataset.from_list(queries),
            relevant_docs=qrels, top_ranked=None)}}
        self.data_loaded = True

    methods: dict[str, Any] = {"load_data": load_data}
    if keep_per_query:
        def task_specific_scores(self, scores, qrels, results, hf_split, hf_subset):
            self.per_query = {q: v["ndcg_cut_10"] for q, v in scores.items()}
            return {}

        methods["task_specific_scores"] = task_specific_scores
    meta = TaskMetadata(name=name, description=f"lmkbench local retrieval task ({folder.name})",
                        dataset={"path": f"local/{name}", "revision": "0"}, type="Retrieval",
                        eval_splits=[split], eval_langs=["eng-Latn"], main_score="ndcg_at_10")
    return type(name, (AbsTaskRetrieval,), {"metadata": meta, **methods})()
