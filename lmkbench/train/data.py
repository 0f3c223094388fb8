"""Training data sources → a list of (query, positive, negatives, teacher scores) examples.

Sources (``--data``):

* ``beir:PATH[#split]`` — a BEIR folder's split (default ``train``): one example per (query, relevant
  document) pair, in qrels order. Other relevant documents of the same query are remembered so that they
  are never used as its negatives (in-batch or mined).
* ``PATH.jsonl[.gz]`` (or ``jsonl:PATH``) — one object per line: ``query`` and ``positive`` (strings),
  optional ``negatives`` (list of strings) and ``scores`` (teacher scores, one per candidate in the order
  ``[positive, *negatives]``, distilled with a KL term).
* ``crop:PATH[?…]`` / ``ict:PATH[?…]`` — unsupervised pairs from a local corpus (BEIR folder, jsonl file or
  folder of .txt): independent cropping or the inverse cloze task, see :mod:`lmkbench.train.unsupervised`.
* ``hf:NAME[@CONFIG][#SPLIT]`` — a Hugging Face dataset through ``datasets.load_dataset`` (needs a network,
  e.g. ``hf:sentence-transformers/msmarco-bm25@triplet``). Columns are found by name: query ∈ {query,
  anchor, question}, positive ∈ {positive, pos, document, passage}, negatives ∈ {negatives, neg, negative,
  negative_1, negative_2, …}, scores ∈ {scores}. A list in the positive column gives one example per item.

Every bad row stops with an :class:`~lmkbench.errors.InputError` naming the file (or dataset), the line
(or row number, 1-based) and the field.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

from ..errors import InputError, LmkbenchError
from ..io import read_jsonl, sha256_file
from .examples import TrainExample, TrainingData


def load_training_data(source: str, *, hard_negatives: int | None = None, max_examples: int | None = None,
                       ) -> TrainingData:
    """Load a source; ``hard_negatives`` caps the negatives kept per example (None: all the data has).

    For BEIR sources (which carry no negatives) a positive ``hard_negatives`` mines that many lexical hard
    negatives per query with TF-IDF (:mod:`lmkbench.train.mining`).
    """
    source = str(source).strip()
    if source.startswith("beir:"):
        data = _load_beir(source, hard_negatives)
    elif source.startswith(("crop:", "ict:")):
        from .unsupervised import load_unsupervised

        data = load_unsupervised(source, max_examples=max_examples)
    elif source.startswith("hf:"):
        data = _load_hf(source)
    else:
        path = source[len("jsonl:"):] if source.startswith("jsonl:") else source
        p = Path(path).expanduser()
        if not p.exists():
            raise InputError("training data not found (use beir:PATH[#split], a .jsonl file, crop:PATH, ict:PATH or hf:NAME)", file=p)
        if p.is_dir():
            raise InputError("is a folder: for a BEIR folder write beir:PATH#train", file=p)
        data = _load_jsonl(p)
    if hard_negatives is not None:
        for ex in data.examples:
            keep = len(ex.negatives[:hard_negatives])
            ex.negatives = ex.negatives[:keep]
            if ex.scores is not None:
                ex.scores = ex.scores[:1 + keep]
    if max_examples is not None:
        data.examples = data.examples[:max_examples]
    if not data.examples:
        raise InputError("no training examples", file=source)
    data.info["n_with_negatives"] = sum(1 for e in data.examples if e.negatives)
    data.info["n_with_scores"] = sum(1 for e in data.examples if e.scores is not None)
    return data


# -- BEIR -------------------------------------------------------------------------------------------------
def _load_beir(source: str, hard_negatives: int | None) -> TrainingData:
    from ..data.beir import load_beir_folder

    path, _, split = source[len("beir:"):].partition("#")
    rd = load_beir_folder(path, split or "train")
    examples: list[TrainExample] = []
    qids: list[str] = []
    for qid in rd.evaluated_query_ids():
        positives = [d for d, g in rd.qrels[qid].items() if g > 0]
        texts = frozenset(rd.doc_text(d) for d in positives)
        for d in positives:
            examples.append(TrainExample(rd.queries[qid], rd.doc_text(d), other_positives=texts))
            qids.append(qid)
    info = {"split": rd.split, "n_queries": len(set(qids))}
    if hard_negatives:
        from .mining import mine_tfidf_negatives

        mined = mine_tfidf_negatives(rd, sorted(set(qids)), hard_negatives)
        for ex, qid in zip(examples, qids):
            ex.negatives = [rd.doc_text(d) for d in mined[qid]]
        info["negatives"] = f"tfidf top-{hard_negatives} non-relevant documents"
    return TrainingData(source, examples, dict(rd.checksums), info)


# -- jsonl ------------------------------------------------------------------------------------------------
def _load_jsonl(path: Path) -> TrainingData:
    examples = [_row(obj, file=path, line=line) for line, obj in read_jsonl(path)]
    return TrainingData(f"jsonl:{path}", examples, {path.name: sha256_file(path)})


def _text(obj: dict, key: str, *, file, line) -> str:
    if key not in obj or obj[key] is None:
        raise InputError("missing", file=file, line=line, field=key)
    val = obj[key]
    if not isinstance(val, str):
        raise InputError(f"expected a string, got {type(val).__name__}", file=file, line=line, field=key)
    if not val.strip():
        raise InputError("empty", file=file, line=line, field=key)
    return val


def _row(obj: dict, *, file, line, keys=("query", "positive", "negatives", "scores")) -> TrainExample:
    qk, pk, nk, sk = keys
    query = _text(obj, qk, file=file, line=line)
    positive = _text(obj, pk, file=file, line=line)
    negatives: list[str] = []
    if obj.get(nk) is not None:
        negs = obj[nk]
        if isinstance(negs, str):
            negs = [negs]
        if not isinstance(negs, list):
            raise InputError(f"expected a list of strings, got {type(negs).__name__}", file=file, line=line, field=nk)
        for i, n in enumerate(negs):
            if not isinstance(n, str) or not n.strip():
                raise InputError(f"item {i} is not a non-empty string", file=file, line=line, field=nk)
        negatives = list(negs)
    scores = None
    if obj.get(sk) is not None:
        raw = obj[sk]
        if not isinstance(raw, list) or not all(isinstance(s, (int, float)) and not isinstance(s, bool) for s in raw):
            raise InputError("expected a list of numbers", file=file, line=line, field=sk)
        if len(raw) != 1 + len(negatives):
            raise InputError(f"expected {1 + len(negatives)} scores (positive + {len(negatives)} negatives), "
                             f"got {len(raw)}", file=file, line=line, field=sk)
        if not all(math.isfinite(s) for s in raw):
            raise InputError("scores must be finite numbers", file=file, line=line, field=sk)
        scores = [float(s) for s in raw]
    return TrainExample(query, positive, negatives, scores, frozenset([positive]))


# -- Hugging Face datasets --------------------------------------------------------------------------------
_QUERY_COLS = ("query", "anchor", "question")
_POS_COLS = ("positive", "pos", "document", "passage")
_NEG_COLS = ("negatives", "neg", "negative")


def parse_hf_source(source: str) -> tuple[str, str | None, str]:
    body = source[len("hf:"):]
    body, _, split = body.partition("#")
    name, _, config = body.partition("@")
    if not name.strip():
        raise LmkbenchError(f"{source!r}: expected hf:NAME[@CONFIG][#SPLIT]")
    return name.strip(), (config.strip() or None), (split.strip() or "train")


def _pick(columns, candidates, source, what, required=True):
    for c in candidates:
        if c in columns:
            return c
    if required:
        raise InputError(f"no {what} column (looked for {', '.join(candidates)}; columns: {', '.join(columns)})",
                         file=source)
    return None


def _load_hf(source: str) -> TrainingData:
    try:
        import datasets
    except ImportError:
        raise LmkbenchError("hf: sources need the 'datasets' package (pip install datasets)") from None
    name, config, split = parse_hf_source(source)
    try:
        ds = datasets.load_dataset(name, config, split=split)
    except Exception as exc:  # noqa: BLE001 - offline, unknown name, bad split: one line for the user
        raise LmkbenchError(f"cannot load {source}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    cols = list(ds.column_names)
    qk = _pick(cols, _QUERY_COLS, source, "query")
    pk = _pick(cols, _POS_COLS, source, "positive")
    nk = _pick(cols, _NEG_COLS, source, "negatives", required=False)
    numbered = sorted((c for c in cols if re.fullmatch(r"negative_\d+", c)), key=lambda c: int(c.split("_")[1]))
    sk = "scores" if "scores" in cols else None
    examples: list[TrainExample] = []
    for i, row in enumerate(ds, 1):
        row = dict(row)
        negs = row.get(nk) if nk else None
        if numbered:
            extra = [row.get(c) for c in numbered if row.get(c) is not None]
            negs = ([negs] if isinstance(negs, str) else list(negs or [])) + extra
        pos = row.get(pk)
        positives = pos if isinstance(pos, list) else [pos]
        if isinstance(pos, list) and not pos:
            raise InputError("empty list", file=source, line=i, field=pk)
        if len(positives) > 1 and sk and row.get(sk) is not None:
            raise InputError("teacher scores need a single positive per row", file=source, line=i, field=sk)
        for p in positives:
            obj = {"query": row.get(qk), "positive": p, "negatives": negs, "scores": row.get(sk) if sk else None}
            try:
                ex = _row(obj, file=source, line=i)
            except InputError as exc:  # report the dataset's own column name
                field_name = {"query": qk, "positive": pk, "negatives": nk or "negative_N", "scores": sk}.get(exc.field, exc.field)
                raise InputError(exc.reason, file=source, line=i, field=field_name) from None
            ex.other_positives = frozenset(x for x in positives if isinstance(x, str))
            examples.append(ex)
    fingerprint = getattr(ds, "_fingerprint", None)
    return TrainingData(source, examples, {"hf_fingerprint": fingerprint} if fingerprint else {},
                        {"hf_name": name, "hf_config": config, "hf_split": split})
