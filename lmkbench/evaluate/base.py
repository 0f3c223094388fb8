"""The evaluator protocol.

An evaluator declares which texts of a dataset must be embedded (:meth:`Evaluator.text_sets`) and turns
their embeddings into an :class:`EvalOutput`. The runner embeds every text set once per pooling (sharing
forward passes between poolings) and calls :meth:`Evaluator.evaluate` per pooling.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..params import Param
from ..specs import Registry

#: task kind → evaluator class; the modules listed register theirs (imported on the first lookup)
EVALUATORS: Registry = Registry("evaluator", noun="option", modules=(
    "lmkbench.evaluate.retrieval", "lmkbench.evaluate.classification", "lmkbench.evaluate.clustering"))


def register_evaluator(kind: str):
    """Register an evaluator class under the task kind it serves, with its declared ``params``."""
    def deco(cls):
        cls.kind = kind
        return EVALUATORS.register(kind, params=cls.params)(cls)   # help: the docstring's first line

    return deco


@dataclass
class EvalOutput:
    metrics: dict[str, float]
    per_item: dict[str, dict[str, Any]]          # id → {metric: value, ...}; "length" filled by the runner
    main_metric: str
    run: dict[str, list[tuple[str, float]]] | None = None   # retrieval only: top-k per query
    info: dict[str, Any] = field(default_factory=dict)       # goes into the result's meta
    #: the per-item fields that are scores (the result's ``item_scores``); None: not declared, and readers
    #: count every numeric per-item field outside ``results.AUX_FIELDS``
    item_scores: tuple[str, ...] | None = None


class IdArray(Mapping):
    """``text id → value`` over a text set's id list and a numpy array, with no per-id dict unless asked:
    :meth:`restrict` picks a few ids in one scan (a multi-million-document corpus stays arrays); plain
    lookups build the index on first use (small sets)."""

    def __init__(self, ids: list[str], values: np.ndarray):
        self.ids, self.values = ids, values
        self._index: dict[str, int] | None = None

    def restrict(self, wanted: Iterable[str]) -> dict[str, Any]:
        wanted = set(wanted)
        return {i: self.values[k].item() for k, i in enumerate(self.ids) if i in wanted}

    def __getitem__(self, key: str):
        if self._index is None:
            self._index = {i: k for k, i in enumerate(self.ids)}
        return self.values[self._index[key]].item()

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self):
        return iter(self.ids)


def restrict(values: Mapping, wanted: Iterable[str]) -> Mapping:
    """The entries of ``wanted`` ids: one scan for an :class:`IdArray`, the mapping itself otherwise."""
    return values.restrict(wanted) if isinstance(values, IdArray) else values


def text_lengths(data, rows: Iterable[int], set_name: str, token_counts: Mapping, truncated: Mapping,
                 split: Mapping | None) -> dict[str, dict[str, Any]]:
    """:meth:`Evaluator.length_of_items` of an evaluator whose items are the texts ``rows`` of labelled
    ``data`` embedded as ``set_name``: each text's length, whether it was cut or split, and its item meta."""
    out = {}
    for r in rows:
        item = data.ids[r]
        out[item] = {"length": int(token_counts[set_name][item]),
                     "truncated": bool(truncated[set_name].get(item, False)),
                     **({"split": bool(split[set_name].get(item, False))} if split else {}),
                     **data.item_meta.get(item, {})}
    return out


class Evaluator:
    """Base class. A subclass declares its options once in ``params`` (name → :class:`~lmkbench.params.Param`);
    the given options are checked against them (unknown ones with "did you mean") and each becomes an
    attribute of the same name; ``options`` holds them all (recorded in results' meta by some)."""

    kind: ClassVar[str] = ""
    per_item_key: ClassVar[str] = "per_item"     # "per_query" for retrieval
    params: ClassVar[dict[str, Param]] = {}

    def __init__(self, **options):
        self.options = EVALUATORS.schema(self.kind).check(options)
        for key, value in self.options.items():
            setattr(self, key, value)

    def text_sets(self, data) -> dict[str, tuple[list[str], list[str]]]:
        """Name → (ids, texts) to embed, e.g. ``{"queries": ..., "corpus": ...}``."""
        raise NotImplementedError

    #: text sets the evaluator reads block by block from the store (see ``search.top_k``); others get arrays
    streamed_sets: ClassVar[frozenset] = frozenset()
    #: text sets that are queries: a chunk strategy encodes them with its inner pooling (strategies.py)
    query_sets: ClassVar[frozenset] = frozenset()
    #: document sets that may hold several vectors per text (MaxP); other document sets get one (agg=mean)
    multi_vector_sets: ClassVar[frozenset] = frozenset()

    def length_of_items(self, data, token_counts: dict[str, Mapping], truncated: dict[str, Mapping],
                        split: dict[str, Mapping] | None = None):
        """Per item: the length in tokens used for length buckets, whether content was cut (``truncated``) and
        whether it was encoded as several windows (``split``, nothing lost).

        ``token_counts[set_name][text_id]`` are content tokens (no special tokens) of each embedded text;
        the mappings may be :class:`IdArray` (use :func:`restrict` for a few ids of a large set).
        Returns ``{item_id: {"length": int, "truncated": bool, "split": bool, ...}}``.
        """
        raise NotImplementedError

    def evaluate(self, data, embeddings: dict[str, np.ndarray]) -> EvalOutput:
        """``embeddings[set_name]`` is an L2-normalised float32 array in the order of :meth:`text_sets`."""
        raise NotImplementedError


def evaluator_for(kind: str, **options) -> Evaluator:
    """The evaluator of a task kind, its options checked against what it declares."""
    return EVALUATORS.entry(kind).obj(**options)
