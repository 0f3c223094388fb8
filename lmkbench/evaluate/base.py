"""The evaluator protocol.

An evaluator declares which texts of a dataset must be embedded (:meth:`Evaluator.text_sets`) and turns
their embeddings into an :class:`EvalOutput`. The runner embeds every text set once per pooling (sharing
forward passes between poolings) and calls :meth:`Evaluator.evaluate` per pooling.
"""
from __future__ import annotations

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


class Evaluator:
    kind: ClassVar[str] = ""
    per_item_key: ClassVar[str] = "per_item"     # "per_query" for retrieval

    def __init__(self, **options):
        self.options = options

    def text_sets(self, data) -> dict[str, tuple[list[str], list[str]]]:
        """Name → (ids, texts) to embed, e.g. ``{"queries": ..., "corpus": ...}``."""
        raise NotImplementedError

    def length_of_items(self, data, token_counts: dict[str, dict[str, int]], truncated: dict[str, dict[str, bool]]):
        """Per item: the length in tokens used for length buckets, and whether it was truncated.

        ``token_counts[set_name][text_id]`` are content tokens (no special tokens) of each embedded text.
        Returns ``{item_id: {"length": int, "truncated": bool, ...}}``.
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
