"""Unsupervised training pairs from any local corpus, offline: independent cropping and the inverse cloze task.

Sources (``--data``), ``PATH`` a BEIR folder (its ``corpus.jsonl[.gz]``; title and text joined as BEIR does),
a ``.jsonl[.gz]`` file of ``{"text": ...}`` rows (a labelled set; other fields ignored) or a folder of
``.txt`` files (one document each, sorted by relative path)::

    crop:PATH[?ratio_min=0.1&ratio_max=0.5&min_words=8&max_words=256&per_doc=1&seed=0&max_docs=N]
    ict:PATH[?min_sentences=2&min_words=4&context=0&keep=0&per_doc=1&seed=0&max_docs=N]

* ``crop`` — Contriever's independent cropping (Izacard et al. 2022, ``randomcrop``): query and positive are
  two spans of the same document, each drawn independently: ratio ``r ~ U[ratio_min, ratio_max]``, length
  ``int(n · r)`` words clamped to ``[min_words, min(max_words, n)]``, start uniform over the valid starts.
  Spans are counted in whitespace words (training data is read before any tokenizer); documents shorter
  than ``min_words`` words are skipped.
* ``ict`` — the inverse cloze task (Lee et al. 2019): one sentence of a document is the query and the
  document without it the positive (``keep`` is the chance that the sentence stays in, 0.1 in the paper,
  0 by default; ``context=k`` keeps only k sentences either side, 0 the whole document). Sentences are
  :func:`lmkbench.inputs.sentence_char_spans`; only sentences of at least ``min_words`` words are drawn,
  and documents with fewer than ``min_sentences`` sentences are skipped.

Determinism: the draws of document ``i`` (0-based, in file order) come from
``numpy.random.default_rng([seed, i, j])`` for its ``j``-th pair, so a pair depends only on the seed and the
document, never on how much was read before. Streaming: documents are read one at a time and only the pairs
are kept (``max_docs`` stops reading early). The pairs of one document are each other's known positives, so
two of them in a batch are never negatives of each other. Bad rows stop with file:line:field errors.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import numpy as np

from ..data.types import join_title
from ..errors import InputError, LmkbenchError
from ..inputs import sentence_char_spans
from ..io import read_jsonl, read_lines, require_id, require_str, sha256_file
from ..params import Param, Schema, to_int
from .examples import TrainExample, TrainingData
from .hyper import SEED_MAX, finite_float

#: most pairs drawn from one document: past this they are near copies of each other (and each is an in-batch
#: false negative of the others), and a mistyped count would draw for ever
PER_DOC_MAX = 1000

_COMMON = {
    "per_doc": Param(to_int, 1, "pairs drawn per document", ge=1, le=PER_DOC_MAX),
    "seed": Param(to_int, 0, "seed of the draws", ge=0, le=SEED_MAX),
    "max_docs": Param(to_int, None, "read at most this many documents", ge=1),
}
SCHEMAS = {
    "crop": Schema({
        "ratio_min": Param(finite_float, 0.1, "smallest span, as a share of the document's words", gt=0, le=1),
        "ratio_max": Param(finite_float, 0.5, "largest span, as a share of the document's words", gt=0, le=1),
        "min_words": Param(to_int, 8, "shortest span in words (shorter documents are skipped)", ge=1),
        "max_words": Param(to_int, 256, "longest span in words", ge=1),
        **_COMMON}, owner="training data 'crop'"),
    "ict": Schema({
        "min_sentences": Param(to_int, 2, "documents with fewer sentences are skipped", ge=2),
        "min_words": Param(to_int, 4, "shortest sentence drawn as a query, in words", ge=1),
        "context": Param(to_int, 0, "sentences kept either side of the query (0: the whole document)", ge=0),
        "keep": Param(finite_float, 0.0, "chance that the query sentence stays in its positive", ge=0, le=1),
        **_COMMON}, owner="training data 'ict'"),
}


def parse_source(source: str) -> tuple[str, Path, dict]:
    """``crop:PATH?k=v&…`` → (method, path, checked parameters)."""
    method, _, rest = source.partition(":")
    if method not in SCHEMAS:
        raise LmkbenchError(f"{source!r}: expected crop:PATH[?…] or ict:PATH[?…]")
    path, _, query = rest.partition("?")
    if not path.strip():
        raise LmkbenchError(f"{source!r}: no corpus path (crop:PATH or ict:PATH)")
    try:
        given = parse_qsl(query, keep_blank_values=True, strict_parsing=True) if query else []
    except ValueError:
        raise LmkbenchError(f"{source!r}: parameters must be written ?key=value&key=value") from None
    names = [k for k, _ in given]
    dup = sorted({k for k in names if names.count(k) > 1})
    if dup:
        raise LmkbenchError(f"{source!r}: parameter {dup[0]!r} given twice")
    params = SCHEMAS[method].check(dict(given))
    if method == "crop":
        if params["ratio_min"] > params["ratio_max"]:
            raise LmkbenchError(f"{source!r}: ratio_min {params['ratio_min']} > ratio_max {params['ratio_max']}")
        if params["min_words"] > params["max_words"]:
            raise LmkbenchError(f"{source!r}: min_words {params['min_words']} > max_words {params['max_words']}")
    return method, Path(path.strip()).expanduser(), params


# -- documents ----------------------------------------------------------------------------------------------
class LocalCorpus:
    """The documents of a BEIR folder, a jsonl file or a folder of .txt files, streamed in a fixed order."""

    def __init__(self, path: Path):
        self.path = Path(path)
        if not self.path.exists():
            raise InputError("corpus not found (a BEIR folder, a .jsonl file or a folder of .txt files)", file=path)
        if self.path.is_dir():
            beir = [self.path / n for n in ("corpus.jsonl", "corpus.jsonl.gz") if (self.path / n).is_file()]
            if beir:
                self.kind, self.file = "beir", beir[0]
            else:
                self.kind, self.file = "txt", None
                self.files = sorted(p for p in self.path.rglob("*.txt") if p.is_file())
                if not self.files:
                    raise InputError("no corpus.jsonl and no .txt files in this folder", file=path)
        elif self.path.name.endswith((".jsonl", ".jsonl.gz")):
            self.kind, self.file = "jsonl", self.path
        else:
            raise InputError("expected a BEIR folder, a .jsonl[.gz] file or a folder of .txt files", file=path)

    def checksums(self) -> dict[str, str]:
        """sha256 of the corpus file; for a .txt folder one digest over every (relative path, file sha256)."""
        if self.file is not None:
            return {self.file.name: sha256_file(self.file)}
        h = hashlib.sha256()
        for f in self.files:
            h.update(f"{f.relative_to(self.path).as_posix()}\0{sha256_file(f)}\n".encode())
        return {f"{self.path.name}/*.txt ({len(self.files)} files)": h.hexdigest()}

    def __iter__(self) -> Iterator[tuple[str, str]]:
        """``(doc_id, text)`` in file order."""
        if self.kind == "beir":
            for line, obj in read_jsonl(self.file):
                doc_id = require_id(obj, "_id", path=self.file, line=line)
                text = require_str(obj, "text", path=self.file, line=line)
                title = require_str(obj, "title", path=self.file, line=line, null_is_empty=True) if "title" in obj else ""
                yield doc_id, join_title(title, text)
        elif self.kind == "jsonl":
            for line, obj in read_jsonl(self.file):
                text = require_str(obj, "text", path=self.file, line=line)
                yield str(obj.get("_id", f"line{line}")), text
        else:
            for f in self.files:
                yield f.relative_to(self.path).as_posix(), "".join(line for _, line in read_lines(f))


# -- the two methods ------------------------------------------------------------------------------------------
def crop_pair(words: list[str], rng: np.random.Generator, p: dict) -> tuple[str, str]:
    """Two independent spans of ``words`` (query first)."""
    return _crop(words, rng, p), _crop(words, rng, p)


def _crop(words: list[str], rng: np.random.Generator, p: dict) -> str:
    n = len(words)
    ratio = rng.uniform(p["ratio_min"], p["ratio_max"])
    length = min(max(int(n * ratio), p["min_words"]), p["max_words"], n)
    start = int(rng.integers(0, n - length + 1))
    return " ".join(words[start:start + length])


def ict_pairs(text: str, rngs: list[np.random.Generator], p: dict) -> list[tuple[str, str]]:
    """One (sentence, rest of the document) pair per generator, distinct sentences, [] if too few."""
    sentences = [s for s in (" ".join(text[a:b].split()) for a, b in sentence_char_spans(text)) if s]
    if len(sentences) < p["min_sentences"]:
        return []
    eligible = [i for i, s in enumerate(sentences) if len(s.split()) >= p["min_words"]]
    out: list[tuple[str, str]] = []
    for rng in rngs:
        if not eligible:
            break
        i = eligible.pop(int(rng.integers(0, len(eligible))))
        keep = p["keep"] > 0 and rng.random() < p["keep"]
        lo, hi = (0, len(sentences)) if not p["context"] else (max(0, i - p["context"]), i + p["context"] + 1)
        rest = [s for j, s in enumerate(sentences[lo:hi], lo) if keep or j != i]
        if rest:
            out.append((sentences[i], " ".join(rest)))
    return out


def load_unsupervised(source: str, *, max_examples: int | None = None) -> TrainingData:
    """Stream the corpus of a ``crop:`` / ``ict:`` source into training pairs."""
    method, path, p = parse_source(source)
    corpus = LocalCorpus(path)
    examples: list[TrainExample] = []
    docs = skipped = 0
    for i, (_doc_id, text) in enumerate(corpus):
        if p["max_docs"] is not None and i >= p["max_docs"]:
            break
        if max_examples is not None and len(examples) >= max_examples:
            break
        docs += 1
        # --max-examples stops the draws too: pairs past it would be cut (load_training_data) unseen
        wanted = p["per_doc"] if max_examples is None else min(p["per_doc"], max_examples - len(examples))
        rngs = [np.random.default_rng([p["seed"], i, j]) for j in range(wanted)]
        if method == "crop":
            words = text.split()
            pairs = [crop_pair(words, rng, p) for rng in rngs] if len(words) >= p["min_words"] else []
        else:
            pairs = ict_pairs(text, rngs, p)
        if not pairs:
            skipped += 1
            continue
        own = frozenset(pos for _, pos in pairs)
        examples.extend(TrainExample(q, pos, other_positives=own) for q, pos in pairs)
    if not examples:
        raise InputError(f"no {method} pairs: every one of the {docs} documents read was too short "
                         f"({_too_short(method, p)})", file=path)
    info = {"method": method, "params": {k: v for k, v in p.items() if v is not None}, "corpus": str(path),
            "corpus_kind": corpus.kind, "docs_read": docs, "docs_skipped": skipped,
            "unit": "whitespace words" if method == "crop" else "sentences (lmkbench.inputs.sentence_char_spans)"}
    data = TrainingData(canonical_source(method, path, p), examples, corpus.checksums(), info)
    data.documents = lambda: _texts(corpus, p["max_docs"] if p["max_docs"] is not None else docs)
    return data


def _texts(corpus: LocalCorpus, limit: int) -> Iterator[str]:
    for i, (_, text) in enumerate(corpus):
        if i >= limit:
            return
        yield text


def _too_short(method: str, p: dict) -> str:
    return (f"fewer than min_words={p['min_words']} words" if method == "crop" else
            f"fewer than min_sentences={p['min_sentences']} sentences or no sentence of min_words={p['min_words']} words")


def canonical_source(method: str, path: Path, p: dict) -> str:
    """Every parameter spelled out, so the recorded source reproduces the pairs."""
    query = "&".join(f"{k}={v}" for k, v in p.items() if v is not None)
    return f"{method}:{path}?{query}"
