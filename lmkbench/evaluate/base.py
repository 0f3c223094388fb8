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

from ..errors import LmkbenchError

EVALUATORS: dict[str, type["Evaluator"]] = {}


def register_evaluator(kind: str):
    def deco(cls):
        cls.kind = kind
        EVALUATORS[kind] = cls
        return cls

    return deco


@dataclass
class EvalOutput:
    metrics: dict[str, float]
    per_item: dict[str, dict[str, Any]]          # id → {metric: value, ...}; "length" filled by the runner
    main_metric: str
    run: dict[str, list[tuple[str, float]]] | None = None   # retrieval only: top-k per query
    info: dict[str, Any] = field(default_factory=dict)       # goes into the result's meta


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


def reject_unknown_options(kind: str, options: dict, known: tuple[str, ...]) -> None:
    """One error for misspelled evaluator options, with "did you mean" (every evaluator calls it)."""
    if not options:
        return
    import difflib

    parts = []
    for name in sorted(options):
        close = difflib.get_close_matches(name, known, n=1)
        parts.append(f"{name} (did you mean {close[0]}?)" if close else name)
    raise LmkbenchError(f"unknown {kind} option(s): {', '.join(parts)} (known: {', '.join(known)})")


class Evaluator:
    kind: ClassVar[str] = ""
    per_item_key: ClassVar[str] = "per_item"     # "per_query" for retrieval

    def __init__(self, **options):
        self.options = options

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


def _import_all() -> None:
    """Import every evaluator module of this package so that each registers itself."""
    import importlib
    import pkgutil

    from .. import evaluate

    for info in pkgutil.iter_modules(evaluate.__path__):
        if info.name != "base" and not info.name.startswith("_"):
            importlib.import_module(f"{evaluate.__name__}.{info.name}")


def evaluator_for(kind: str, **options) -> Evaluator:
    if kind not in EVALUATORS:
        _import_all()
    try:
        cls = EVALUATORS[kind]
    except KeyError:
        raise LmkbenchError(f"no evaluator for task kind {kind!r} (known: {', '.join(sorted(EVALUATORS))})") from None
    return cls(**options)
