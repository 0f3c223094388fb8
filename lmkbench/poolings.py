"""Poolings: each a small registered class, addressed by a spec string (``lmk:g=64``).

A pooling names the input family it reads (:mod:`lmkbench.inputs`) and gives, per sequence, a weight per
position; the embedding is the weighted mean of the final hidden states. That single form covers every
pooling here and makes the ``windows`` policy uniform: weighted sums and weights add up across a text's
windows (``mean`` → every token of every window, ``cls`` → mean of the window CLS states, ``lmk`` → every
landmark of every window). Where a pooling's weights are all zero for a text (no landmark survived), the
encoder falls back to the masked mean, as the paper's code does.

Add a pooling by writing a subclass and decorating it with ``@POOLINGS.register(name, params=...)``, its
parameters declared once as :class:`~lmkbench.params.Param` (checked by the one schema, :mod:`lmkbench.params`).
"""
from __future__ import annotations

import torch

from .inputs import Family, LandmarkFamily, MultiClsFamily, PlainFamily
from .params import Param, to_int, to_str
from .specs import Registry, Spec

POOLINGS: Registry = Registry("pooling", modules=("lmkbench.strategies",))   # chunk, late register there


class Pooling:
    """Base class. ``spec`` is the parsed, normalised :class:`~lmkbench.specs.Spec`.

    The class attributes below are the whole protocol the encoder, the runner and the mteb adapter read; the
    long-document strategies (:class:`lmkbench.strategies.Strategy`) override them."""

    #: if True and a text gets zero total weight, the masked mean is used instead
    falls_back_to_mean: bool = False
    #: a long-document strategy: its vectors are chunks laid out per text (``layout``), aggregated by ``agg``,
    #: and only documents use it (queries use its inner pooling: :meth:`spec_for`)
    is_strategy: bool = False
    #: several stored rows per text (an ``owner`` array in the store); search scores a text by its best row
    multi_vector: bool = False
    #: how a strategy's chunk vectors become the stored rows (``max``: all kept, ``mean``: their normalised
    #: mean); None for a pooling of one vector per text
    agg: str | None = None

    def __init__(self, spec: Spec):
        self.spec = spec

    def spec_for(self, role: str) -> str:
        """The spec to encode a text set of ``role`` (``query``, ``document`` or ``single``: a set whose
        evaluator needs one vector per text) with: the pooling itself, except for strategies."""
        return str(self.spec)

    def __str__(self) -> str:
        return str(self.spec)

    def family(self) -> Family:
        return PlainFamily()

    def weights(self, attention_mask: torch.Tensor, marks: torch.Tensor) -> torch.Tensor:
        """``attention_mask`` and ``marks`` are ``[batch, seq]`` bool; return ``[batch, seq]`` float weights."""
        raise NotImplementedError


def parse_pooling(text) -> Spec:
    """A pooling spec in canonical form (``lmk`` → ``lmk:g=32``)."""
    return make_pooling(text).spec


def parse_poolings(text: str) -> list[Spec]:
    """Comma-separated pooling specs, canonicalised and de-duplicated in order."""
    out: list[Spec] = []
    for spec in POOLINGS.parse_list(text):
        canon = make_pooling(spec).spec
        if canon not in out:
            out.append(canon)
    return out


def make_pooling(spec) -> Pooling:
    return POOLINGS.create(spec)


@POOLINGS.register("cls", help="hidden state at position 0 (the CLS token)")
class ClsPooling(Pooling):
    def weights(self, attention_mask, marks):
        w = torch.zeros_like(attention_mask, dtype=torch.float32)
        w[:, 0] = 1.0
        return w


@POOLINGS.register("mean", help="masked mean over all tokens (special tokens included, as sentence-transformers)")
class MeanPooling(Pooling):
    def weights(self, attention_mask, marks):
        return attention_mask.float()


@POOLINGS.register("last", help="hidden state of the last non-pad token (decoder-style)")
class LastPooling(Pooling):
    def weights(self, attention_mask, marks):
        lengths = attention_mask.long().sum(1).clamp_min(1)
        w = torch.zeros_like(attention_mask, dtype=torch.float32)
        w[torch.arange(w.shape[0], device=w.device), lengths - 1] = 1.0
        return w


@POOLINGS.register("mean_every", params={"k": Param(to_int, 64, "stride between pooled positions", ge=1)},
                   help="control: mean of hidden states at positions 0, k, 2k, … (no inserted tokens)")
class MeanEveryPooling(Pooling):
    falls_back_to_mean = True

    def weights(self, attention_mask, marks):
        k = int(self.spec.get("k"))
        pos = torch.arange(attention_mask.shape[1], device=attention_mask.device)
        return (attention_mask & (pos % k == 0)).float()


_CHUNK_PARAMS = {
    "g": Param(to_int, 32, "tokens per chunk (split=fixed)", ge=1),
    "split": Param(to_str, "fixed", "fixed-size chunks or sentence chunks", choices=("fixed", "sentence")),
}


class _MarkPooling(Pooling):
    falls_back_to_mean = True
    family_cls: type = LandmarkFamily

    def __init__(self, spec: Spec):
        if spec.get("split") == "sentence":  # g is meaningless for sentence chunks: drop it from the identity
            spec = Spec(spec.name, tuple((k, v) for k, v in spec.params if k != "g"))
        elif spec.get("split") == "fixed":  # the default split is implied, keep the canonical form short
            spec = Spec(spec.name, tuple((k, v) for k, v in spec.params if k != "split"))
        super().__init__(spec)

    def family(self):
        split = self.spec.get("split", "fixed")
        return self.family_cls(self.spec.get("g"), split)

    def weights(self, attention_mask, marks):
        return (marks & attention_mask).float()


@POOLINGS.register("lmk", params=_CHUNK_PARAMS,
                   help="landmark pooling (arXiv 2601.21525): SEP after every chunk of g tokens, mean of SEP states")
class LandmarkPooling(_MarkPooling):
    family_cls = LandmarkFamily


@POOLINGS.register("multicls", params=_CHUNK_PARAMS,
                   help="control: CLS at the start of every chunk of g tokens, mean of those CLS states")
class MultiClsPooling(_MarkPooling):
    family_cls = MultiClsFamily


def canonical(text) -> str:
    """Canonical string of a pooling spec (``"lmk"`` → ``"lmk:g=32"``; ``lmk:split=sentence`` drops g)."""
    return str(make_pooling(text).spec)

