"""The shapes of training data: one :class:`TrainExample` (query, positive, negatives) and a loaded
:class:`TrainingData` set. Their own module so that every loader (:mod:`.data`, :mod:`.unsupervised`) imports
them without importing another loader."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field


@dataclass
class TrainExample:
    query: str
    positive: str
    negatives: list[str] = field(default_factory=list)
    scores: list[float] | None = None            # teacher scores of [positive, *negatives]
    other_positives: frozenset[str] = frozenset()  # texts that must not serve as this query's negatives


@dataclass
class TrainingData:
    source: str
    examples: list[TrainExample]
    checksums: dict[str, str] = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    #: the documents training draws from, streamed (crop/ict: the source corpus); None: the examples' texts
    documents: Callable[[], Iterable[str]] | None = field(default=None, repr=False, compare=False)

    def describe(self) -> dict:
        return {"source": self.source, "n_examples": len(self.examples), "checksums": self.checksums, **self.info}

    def document_texts(self) -> Iterator[str]:
        """Every document text the model is trained on (positives and negatives, or the corpus that unsupervised
        pairs are cut from): what must not appear in an evaluation corpus."""
        if self.documents is not None:
            yield from self.documents()
            return
        for ex in self.examples:
            yield ex.positive
            yield from ex.negatives
