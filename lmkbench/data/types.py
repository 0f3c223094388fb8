"""In-memory datasets handed from a loader to an evaluator.

Loaders fill these; evaluators read them. Everything is keyed by string ids in a stable order.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


class TextStream:
    """A re-iterable sequence of texts with a known length, produced on demand (e.g. from a corpus file), so
    the encoder can stream a text set without every string being alive at once."""

    def __init__(self, factory: Callable[[], Iterator[str]], n: int):
        self._factory, self._n = factory, n

    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[str]:
        return iter(self._factory())


@dataclass
class RetrievalData:
    """A retrieval split: corpus, queries and graded relevance judgements.

    ``corpus[doc_id] = (title, text)`` — a dict, or a mapping that reads its file on demand
    (:class:`~lmkbench.data.beir.JsonlCorpus`: ids in memory, texts streamed); the text that is embedded is
    :meth:`doc_text` (title and body joined by a space, as BEIR and mteb do). ``qrels[query_id][doc_id] = grade`` (grade > 0 is relevant).
    ``query_meta`` holds optional per-query fields that results keep (e.g. ``target_length``, ``depth``
    for synthetic tasks). ``checksums`` maps each source file to its sha256.
    """

    name: str
    split: str
    corpus: Mapping[str, tuple[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    query_meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)
    source: str = ""
    main_metric: str = "ndcg_at_10"
    info: dict[str, Any] = field(default_factory=dict)

    def doc_ids(self) -> list[str]:
        ids = getattr(self.corpus, "ids", None)
        return ids if ids is not None else list(self.corpus)

    def doc_text(self, doc_id: str) -> str:
        return join_title(*self.corpus[doc_id])

    def doc_texts(self) -> TextStream:
        """Every document's text in :meth:`doc_ids` order, streamed (one pass over the corpus per iteration)."""
        return TextStream(lambda: (join_title(t, x) for _, (t, x) in self.corpus.items()), len(self.corpus))

    def evaluated_query_ids(self) -> list[str]:
        """Queries with at least one relevant document (as BEIR/mteb evaluate them)."""
        return [q for q in self.queries if any(g > 0 for g in self.qrels.get(q, {}).values())]


def join_title(title: str, text: str) -> str:
    return f"{title} {text}".strip() if title else text


@dataclass
class LabelledData:
    """Texts with labels, for classification and clustering.

    ``splits`` maps a split name to its row indices (e.g. ``{"train": [...], "test": [...]}``);
    clustering uses every row of ``eval_split``.
    """

    name: str
    ids: list[str]
    texts: list[str]
    labels: list[str]
    splits: dict[str, list[int]] = field(default_factory=dict)
    eval_split: str = "test"
    checksums: dict[str, str] = field(default_factory=dict)
    source: str = ""
    main_metric: str = "accuracy"
    item_meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
