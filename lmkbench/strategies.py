"""Long-document strategies: chunk a document, pool each chunk, aggregate (registered beside the poolings).

A strategy is a pooling spec like any other (same registry, store, search), applied to *documents*; queries
(and any other non-document text set) use its inner pooling ``pool`` itself (:meth:`Strategy.spec_for`).

* ``chunk:size=256,pool=mean,agg=max`` — a document's content tokens are cut into consecutive pieces of
  ``size − framing`` tokens (254 for BERT's ``[CLS] … [SEP]``), each framed as the plain family and pooled
  with ``pool`` in its own forward pass (:class:`ChunkFamily`). ``agg=max`` keeps every chunk vector (several
  vectors per document in the store, with an ``owner`` array; search scores a document by its best chunk:
  MaxP); ``agg=mean`` stores the L2-normalised mean of the (normalised) chunk vectors.
* ``late:size=256,pool=mean,agg=max`` — late chunking: the document goes through the plain family's forward
  pass (one sequence within ``--max-length``, or windows under ``--long windows``; it *shares* the pass with
  cls/mean/last) and each chunk's vector is the mean of the hidden states over that chunk's token span.
  Chunks are the same content spans as ``chunk``; a window's own ``[CLS]`` joins its first chunk and its
  ``[SEP]`` its last, so a document of one chunk gives exactly the plain ``mean``.

A document shorter than one chunk reduces to the plain pooling ``pool`` in both. Every strategy lays its
vectors out as *units* (:class:`Layout`): which output row each sequence (or each position) adds to, and
which text each row belongs to; the encoder accumulates weighted sums per unit and then aggregates.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .errors import LmkbenchError
from .inputs import Content, Family, PlainFamily, Sequence, SpecialTokens
from .poolings import POOLINGS, Pooling, make_pooling
from .params import Param, to_int, to_str
from .specs import Spec

#: inner poolings a chunk may use: those that read the plain family (one weighting per sequence)
CHUNK_POOLS = ("cls", "mean", "last")
AGGREGATIONS = ("max", "mean")


@dataclass
class Layout:
    """Where a family's sequences add up: ``unit_owner[u]`` is the text (index in the shard) of unit ``u``;
    ``seq_unit[s]`` the unit of every position of sequence ``s``, or ``pos_units[s]`` one unit per position."""

    unit_owner: np.ndarray
    seq_unit: np.ndarray | None = None
    pos_units: list[np.ndarray] | None = None


def text_layout(owner: list[int], n_texts: int) -> Layout:
    """One unit per text: what every ordinary pooling does (windows of a text add up)."""
    return Layout(np.arange(n_texts), seq_unit=np.asarray(owner, np.int64))


def chunk_room(size: int, sp: SpecialTokens) -> int:
    room = size - len(sp.plain_prefix) - len(sp.plain_suffix)
    if room < 1:
        raise LmkbenchError(f"chunk size {size} leaves no room for content after the framing tokens")
    return room


class ChunkFamily(Family):
    """Every ``size − framing`` content tokens framed as the plain family; all of a document, always."""

    covers_all = True  # nothing is ever cut; "split" means "more than one chunk"

    def __init__(self, size: int):
        self.size = size

    @property
    def key(self):  # type: ignore[override]
        return f"chunk:size={self.size}"

    def capacity(self, max_length):
        return self.size

    def build(self, content: Content, sp: SpecialTokens, max_length: int, policy: str):
        if self.size > max_length:
            raise LmkbenchError(f"chunk size {self.size} exceeds the max length {max_length} of the model input")
        room = chunk_room(self.size, sp)
        frame = PlainFamily().frame
        ids = content.ids
        if not len(ids):
            return [frame(ids, sp)], False
        return [frame(ids[i:i + room], sp) for i in range(0, len(ids), room)], len(ids) > room


STRATEGY_PARAMS = {
    "size": Param(to_int, 256, "tokens per chunk, framing included (content = size minus [CLS]/[SEP])", ge=2),
    "pool": Param(to_str, "mean", "pooling of each chunk", choices=CHUNK_POOLS),
    "agg": Param(to_str, "max", "max: best chunk scores the document (MaxP); mean: normalised mean of chunks",
                 choices=AGGREGATIONS),
}


class Strategy(Pooling):
    """Base of the chunk strategies: a pooling whose output rows are chunks, aggregated per document."""

    is_strategy = True

    def __init__(self, spec: Spec):
        super().__init__(spec)
        self.inner = make_pooling(spec.get("pool"))
        self.agg = spec.get("agg")

    @property
    def multi_vector(self) -> bool:
        return self.agg == "max"

    def weights(self, attention_mask, marks):
        return self.inner.weights(attention_mask, marks)

    def spec_for(self, role: str) -> str:
        """The spec to encode a text set with: ``query`` → the inner pooling; ``document`` → this strategy;
        ``single`` (a set whose evaluator needs one vector per text) → the ``agg=mean`` variant of ``agg=max``."""
        if role == "query":
            return str(self.inner.spec)
        if role == "single" and self.multi_vector:
            return str(Spec(self.spec.name, tuple((k, "mean" if k == "agg" else v) for k, v in self.spec.params)))
        return str(self.spec)

    def layout(self, seqs: list[Sequence], owner: list[int], n_texts: int, sp: SpecialTokens) -> Layout:
        raise NotImplementedError


@POOLINGS.register("chunk", params=STRATEGY_PARAMS,
                   help="documents cut into size-token chunks, each its own forward pass; agg=max (MaxP) or mean")
class ChunkStrategy(Strategy):
    def family(self):
        return ChunkFamily(int(self.spec.get("size")))

    def layout(self, seqs, owner, n_texts, sp):
        return Layout(np.asarray(owner, np.int64), seq_unit=np.arange(len(seqs)))


@POOLINGS.register("late", params={**STRATEGY_PARAMS, "pool": Param(to_str, "mean", "pooling of each chunk span",
                                                                        choices=("mean",))},
                   help="late chunking: one (windowed) forward pass, mean of each size-token chunk's span; agg=max|mean")
class LateStrategy(Strategy):
    """Reads the plain family's sequences (shares their forward pass) and pools chunk spans of them."""

    def family(self):
        return PlainFamily()

    def layout(self, seqs, owner, n_texts, sp):
        room = chunk_room(int(self.spec.get("size")), sp)
        pre, suf = len(sp.plain_prefix), len(sp.plain_suffix)
        pos_units: list[np.ndarray] = []
        unit_owner: list[int] = []
        base, start, last = 0, 0, None
        for seq, text in zip(seqs, owner):  # a text's windows are consecutive; its content restarts at 0
            if text != last:
                base, start, last = len(unit_owner), 0, text
            n_content = max(len(seq.ids) - pre - suf, 0)
            if n_content == 0:  # an empty text: [CLS] [SEP], one unit
                units = np.full(len(seq.ids), base, np.int64)
            else:
                chunk = (start + np.arange(n_content)) // room + base
                units = np.concatenate([np.full(pre, chunk[0]), chunk, np.full(suf, chunk[-1])]).astype(np.int64)
            unit_owner.extend([text] * (int(units.max()) + 1 - len(unit_owner)))
            pos_units.append(units)
            start += n_content
        return Layout(np.asarray(unit_owner, np.int64), pos_units=pos_units)



def add_unit_sums(sums: torch.Tensor, wsum: torch.Tensor, h: torch.Tensor, w: torch.Tensor,
                  units: torch.Tensor) -> None:
    """Add Σ w·h and Σ w of every position to its unit's accumulators (``units``: [batch, seq] unit per position)."""
    flat = units.reshape(-1)
    sums.index_add_(0, flat, (w.unsqueeze(-1) * h).reshape(-1, h.shape[-1]).double())
    wsum.index_add_(0, flat, w.reshape(-1).double())


def aggregate(vecs: np.ndarray, unit_owner: np.ndarray, n_texts: int, agg: str | None):
    """Normalised unit vectors → what the store keeps: ``(rows, owner or None)``.

    ``None`` (ordinary poolings: one unit per text) and ``max`` keep the units; ``mean`` averages each text's
    unit vectors and normalises again."""
    if agg != "mean":
        return vecs, (None if agg is None else unit_owner.astype(np.int32))
    out = np.zeros((n_texts, vecs.shape[1]), np.float64)
    np.add.at(out, unit_owner, vecs.astype(np.float64))
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return (out / np.maximum(norms, 1e-12)).astype(np.float32), None
