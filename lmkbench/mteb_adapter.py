"""Run any lmkbench pooled encoder under ``mteb.evaluate``: mteb's tasks, lmkbench's poolings.

``lmkbench run`` evaluates with lmkbench's own evaluators (per-query scores, length buckets). This adapter
goes the other way: it wraps :class:`~lmkbench.encoder.PooledEncoder` plus one pooling spec as an mteb
encoder (``mteb.models.abs_encoder.AbsEncoder``), so every mteb task type (STS, reranking, pair
classification, ...) and mteb's own result files are available for LMK, CLS, mean or any registered
pooling, with the same inputs (special tokens, landmark insertion, truncation or windows) as ``lmkbench run``.

    from lmkbench.mteb_adapter import MtebPooledEncoder
    model = MtebPooledEncoder("minilm", pooling="lmk", max_length=512, cache_dir=False)
    result = mteb.evaluate(model, mteb.get_task("SciFact"), cache=None)

Texts get no prompts. Queries follow ``lmkbench run``'s rule (:meth:`~lmkbench.poolings.Pooling.spec_for`): a
text mteb marks ``prompt_type=query`` is a query, encoded with a strategy's inner pooling (``chunk:…,pool=mean``
→ ``mean``); every other text is encoded with the pooling itself, or, for a multi-vector strategy (``agg=max``),
with its ``agg=mean`` variant wherever mteb wants one vector per text. Embeddings are L2-normalised and scored by
cosine similarity.

A multi-vector strategy keeps every chunk of a retrieval document: :class:`MtebMaxPEncoder` (what
``MtebPooledEncoder(model, "chunk:size=64,agg=max")`` builds) implements mteb's search interface
(``SearchProtocol``: ``index`` then ``search``) and scores a document by its best chunk (MaxP) through
lmkbench's own exact search, as ``lmkbench run`` does; reranking tasks score their candidate documents alike.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .encoder import PooledEncoder
from .errors import LmkbenchError
from .export.mteb import mteb_model_name
from .poolings import make_pooling
from .search import top_k as dense_top_k

try:
    from mteb._create_dataloaders import create_dataloader
    from mteb.models.abs_encoder import AbsEncoder
    from mteb.models.model_meta import ModelMeta
    from mteb.types import PromptType
except ImportError as _exc:  # pragma: no cover - mteb is an optional extra
    raise LmkbenchError("lmkbench.mteb_adapter needs mteb (pip install 'lmkbench[eval]')") from _exc


class MtebPooledEncoder(AbsEncoder):
    """An mteb encoder backed by a :class:`PooledEncoder` and one pooling spec.

    ``model`` is a :class:`PooledEncoder` or anything :class:`PooledEncoder` accepts (an alias such as
    ``minilm``, a local folder, a hub name); extra keyword arguments go to :class:`PooledEncoder`.
    ``name`` is the mteb model name (must contain ``/``; default ``lmkbench/<model>__<pooling>``), so
    results for different poolings of one checkpoint never collide in mteb's result cache. A multi-vector
    pooling gives a :class:`MtebMaxPEncoder` (this class plus mteb's search interface).
    """

    def __new__(cls, model=None, pooling: str = "mean", **kwargs: Any):
        if cls is MtebPooledEncoder and make_pooling(pooling).multi_vector:
            cls = MtebMaxPEncoder
        return super().__new__(cls)

    def __init__(self, model: PooledEncoder | str, pooling: str = "mean", *, name: str | None = None,
                 **encoder_kwargs: Any):
        if isinstance(model, PooledEncoder) and encoder_kwargs:
            raise LmkbenchError("pass encoder options to PooledEncoder, not to MtebPooledEncoder, when giving an encoder")
        self.pooler = make_pooling(pooling)
        self.pooling = str(self.pooler.spec)
        if name and "/" not in name:
            raise LmkbenchError(f"mteb model names need an organisation part ('org/name'), got {name!r}")
        self.encoder = model if isinstance(model, PooledEncoder) else PooledEncoder(model, **encoder_kwargs)
        loaded = self.encoder.loaded
        self.model = loaded.model
        name = name or mteb_model_name(loaded.label, self.pooling)   # as `lmkbench export --format mteb` names it
        self.mteb_model_meta = ModelMeta(
            loader=None, name=name, revision=loaded.identity, release_date=None, languages=None,
            n_parameters=sum(p.numel() for p in loaded.model.parameters()), memory_usage_mb=None,
            max_tokens=self.encoder.max_length, embed_dim=int(loaded.model.config.hidden_size), license=None,
            open_weights=True, public_training_code=None, public_training_data=None, framework=["PyTorch"],
            similarity_fn_name="cosine", use_instructions=False, training_datasets=None,
            experiment_kwargs={"pooling": self.pooling, "max_length": self.encoder.max_length,
                               "long_policy": self.encoder.long_policy})

    def spec_for(self, prompt_type) -> str:
        """The spec a text set is encoded with: ``lmkbench run``'s rule, a query (mteb's ``prompt_type=query``)
        by a strategy's inner pooling, anything else one vector per text."""
        return self.pooler.spec_for("query" if prompt_type == PromptType.query else "single")

    def encode(self, inputs, *, task_metadata, hf_split: str, hf_subset: str, prompt_type=None,
               **kwargs: Any) -> np.ndarray:
        spec = self.spec_for(prompt_type)
        return self._encode(batch_texts(inputs), spec, _desc(task_metadata, hf_split, prompt_type)).embeddings[spec]

    def _encode(self, texts: list[str], spec: str, desc: str):
        return self.encoder.encode(texts, [spec], desc=desc)


class MtebMaxPEncoder(MtebPooledEncoder):
    """A multi-vector strategy (``agg=max``) under mteb: retrieval through mteb's search interface.

    ``index`` encodes the corpus with the strategy (every chunk a row, with its document as owner) and
    ``search`` encodes the queries with the inner pooling and ranks documents by their best chunk, through
    :func:`lmkbench.search.top_k` as ``lmkbench run``'s retrieval evaluator does. Tasks that call ``encode``
    (STS, classification, ...) get one vector per text, the ``agg=mean`` variant, as ``run`` gives them.
    """

    _corpus: tuple[list[str], np.ndarray, np.ndarray] | None = None

    def index(self, corpus, *, task_metadata, hf_split: str, hf_subset: str, encode_kwargs=None, num_proc=None,
              **kwargs: Any) -> None:
        loader = create_dataloader(corpus, task_metadata=task_metadata, prompt_type=PromptType.document,
                                   num_proc=num_proc)
        out = self._encode(batch_texts(loader), self.pooling, _desc(task_metadata, hf_split, PromptType.document))
        self._corpus = ([str(i) for i in corpus["id"]], out.embeddings[self.pooling], out.owners[self.pooling])

    def search(self, queries, *, task_metadata, hf_split: str, hf_subset: str, top_k: int, encode_kwargs=None,
               top_ranked=None, num_proc=None, **kwargs: Any) -> dict[str, dict[str, float]]:
        if self._corpus is None:
            raise LmkbenchError("MtebMaxPEncoder.search() before index(): mteb indexes the corpus first")
        doc_ids, rows, owners = self._corpus
        loader = create_dataloader(queries, task_metadata=task_metadata, prompt_type=PromptType.query,
                                   num_proc=num_proc)
        q = self.encode(loader, task_metadata=task_metadata, hf_split=hf_split, hf_subset=hf_subset,
                        prompt_type=PromptType.query)
        qids = [str(i) for i in queries["id"]]
        if top_ranked is None:
            scores, idx = dense_top_k(q, rows, top_k, owners=owners, n_docs=len(doc_ids),
                                      device=self.encoder.device)
            return {qid: {doc_ids[j]: float(s) for s, j in zip(scores[r], idx[r])} for r, qid in enumerate(qids)}
        return rerank_maxp(q, qids, rows, owners, doc_ids, top_ranked, top_k)


def rerank_maxp(q: np.ndarray, qids: list[str], rows: np.ndarray, owners: np.ndarray, doc_ids: list[str],
                top_ranked: dict[str, list[str]], top_k: int) -> dict[str, dict[str, float]]:
    """Each query's candidate documents (``top_ranked``) scored by their best row (MaxP), best ``top_k`` kept."""
    first = np.searchsorted(owners, np.arange(len(doc_ids) + 1))    # rows of document d: first[d]:first[d + 1]
    where = {d: i for i, d in enumerate(doc_ids)}
    out: dict[str, dict[str, float]] = {}
    for r, qid in enumerate(qids):
        cands = [d for d in top_ranked.get(qid, []) if d in where]
        scores = {d: float(np.max(rows[first[where[d]]:first[where[d] + 1]] @ q[r])) for d in cands}
        out[qid] = dict(sorted(scores.items(), key=lambda kv: -kv[1])[:top_k])
    return out


def batch_texts(inputs) -> list[str]:
    """The texts of mteb's dict batches (a DataLoader); a missing text is the empty string."""
    texts: list[str] = []
    for batch in inputs:
        if "text" not in batch:
            raise LmkbenchError(f"MtebPooledEncoder encodes text only; the batch has {sorted(batch)}")
        texts.extend(t if isinstance(t, str) else "" for t in batch["text"])
    return texts


def _desc(task_metadata, hf_split: str, prompt_type) -> str:
    """The progress bar's label: task, split and (where mteb says) query or document."""
    return f"mteb/{task_metadata.name}/{hf_split}" + (f"/{prompt_type.value}" if hasattr(prompt_type, "value") else "")


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
