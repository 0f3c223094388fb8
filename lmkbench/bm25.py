"""BM25 as a reference system (``--model bm25``), through the ``bm25s`` package.

``bm25[:method=lucene,k1=1.2,b=0.75,stopwords=en,stemmer=english]`` — defaults: bm25s's Lucene-compatible
scoring (``method=lucene``, idf ``log(1 + (N − df + 0.5)/(df + 0.5))``), ``k1=1.2`` and ``b=0.75`` (Lucene's and
Anserini's defaults), bm25s's tokenizer (lower-cased, regex ``(?u)\\b\\w\\w+\\b``), English stop words
(bm25s's list) and the Snowball English stemmer (PyStemmer; ``stemmer=none`` turns stemming off). All of it is
recorded in each result's ``meta.bm25``. The result cells are ordinary ones (pooling label ``bm25``), so BM25 sits
in every table, bucket figure, leaderboard and the gate.
"""
from __future__ import annotations

import numpy as np

from .errors import LmkbenchError
from .params import Param, to_finite_float, to_str
from .specs import Registry, Spec

SYSTEMS: Registry = Registry("lexical system")
TOKEN_PATTERN = r"(?u)\b\w\w+\b"


def _stopwords(text) -> str:
    text = to_str(text)
    return {"english": "en"}.get(text, text)


BM25_PARAMS = {
    "method": Param(to_str, "lucene", "bm25s scoring variant",
                    choices=("lucene", "robertson", "atire", "bm25l", "bm25+")),
    "k1": Param(to_finite_float, 1.2, "term-frequency saturation", ge=0),
    "b": Param(to_finite_float, 0.75, "document-length normalisation", ge=0, le=1),
    "stopwords": Param(_stopwords, "en", "stop-word list (bm25s: en, or none)", choices=("en", "none")),
    "stemmer": Param(to_str, "english", "Snowball stemmer language (PyStemmer), or none"),
}


def is_lexical(model: str) -> bool:
    return model.split(":", 1)[0].strip() in SYSTEMS


def parse_system(model: str) -> Spec:
    return SYSTEMS.parse(model)


def system_label(spec: Spec) -> str:
    """``bm25`` for the defaults, else the canonical spec (so that settings never share a results folder)."""
    return spec.name if spec == SYSTEMS.parse(spec.name) else str(spec)


@SYSTEMS.register("bm25", params=BM25_PARAMS, help="BM25 (bm25s)")
class BM25:
    """A BM25 index over a text list (``index``), searched with :meth:`top_k` or scored with :meth:`scores`."""

    def __init__(self, spec: Spec | str = "bm25"):
        import bm25s

        self.spec = spec if isinstance(spec, Spec) else parse_system(spec)
        self.bm25s = bm25s
        self.stemmer = _stemmer(self.spec.get("stemmer"))
        self.retriever = bm25s.BM25(method=self.spec.get("method"), k1=float(self.spec.get("k1")),
                                    b=float(self.spec.get("b")))
        self.n_docs = 0
        self.indexed = False   # False while no document holds a token (bm25s cannot index an empty vocabulary)

    def describe(self) -> dict:
        return {"system": "bm25s", "version": self.bm25s.__version__, **dict(self.spec.params),
                "lowercase": True, "token_pattern": TOKEN_PATTERN}

    def tokenize(self, texts: list[str]) -> list[list[str]]:
        stop = None if self.spec.get("stopwords") == "none" else self.spec.get("stopwords")
        return self.bm25s.tokenize(list(texts), lower=True, token_pattern=TOKEN_PATTERN, stopwords=stop,
                                   stemmer=self.stemmer, return_ids=False, show_progress=False)

    def index(self, texts: list[str]) -> "BM25":
        self.n_docs = len(texts)
        tokens = self.tokenize(texts)
        self.indexed = any(tokens)
        if self.indexed:
            self.retriever.index(tokens, show_progress=False)
        return self

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every indexed text for one query (0 where no query term occurs; all 0 for a query with
        no tokens, e.g. empty, punctuation or stop words only, which bm25s cannot take)."""
        tokens = self.tokenize([query])[0]
        if not tokens or not self.indexed:
            return np.zeros(self.n_docs, np.float64)
        return np.asarray(self.retriever.get_scores(tokens), np.float64)

    def top_k(self, queries: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, indices)`` ``[n_queries, min(k, n_docs)]``, best first (ties: lower index first)."""
        k = min(k, self.n_docs)
        out_s = np.zeros((len(queries), k), np.float32)
        out_i = np.zeros((len(queries), k), np.int64)
        for r, q in enumerate(queries):
            s = self.scores(q)
            order = np.argsort(-s, kind="stable")[:k]
            out_s[r], out_i[r] = s[order], order
        return out_s, out_i


def _stemmer(name: str):
    if name in (None, "", "none"):
        return None
    try:
        import Stemmer
    except ImportError:
        raise LmkbenchError(f"bm25: stemmer={name} needs the PyStemmer package (pip install PyStemmer), "
                            "or use --model bm25:stemmer=none") from None
    try:
        return Stemmer.Stemmer(name).stemWords
    except KeyError:
        raise LmkbenchError(f"bm25: unknown stemmer language {name!r} (PyStemmer knows: "
                            f"{', '.join(Stemmer.algorithms())})") from None
