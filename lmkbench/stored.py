"""A pooling's embeddings of a text set as the store keeps them: shards read in turn, never all in memory."""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .search import doc_blocks


class StoredEmbeddings:
    """One pooling's embeddings of a text set, as the store's shards in order (nothing held in memory).

    ``blocks(rows)`` yields ``(start, array)`` of at most ``rows`` consecutive embeddings, read shard by shard
    (search streams the corpus this way); ``array()`` loads everything (small sets, the Python API).
    A *multi-vector* set (``multi``: several rows per text, MaxP) keeps an ``owner`` array per shard;
    ``doc_blocks(rows)`` then yields whole texts' rows with their owners, and ``array()`` / ``blocks()``
    give rows, not texts (``vectors`` of them; ``len()`` is still the number of texts).
    """

    def __init__(self, slot, shards: list[tuple[str, int]], dim: int, multi: bool = False, vectors: int | None = None):
        self.slot, self.shards, self.dim, self.multi = slot, shards, dim, multi
        self.n = sum(r for _, r in shards)
        self.vectors = self.n if vectors is None else vectors

    def __len__(self) -> int:
        return self.n

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n, self.dim)

    def doc_blocks(self, rows: int = 50_000) -> Iterator[tuple[int, np.ndarray, np.ndarray | None]]:
        """``(first text, rows, owner or None)`` where a block ends on a text boundary (see search.doc_blocks)."""
        if not self.multi:
            for start, block in self.blocks(rows):
                yield start, block, None
            return
        start = 0
        for stem, n_texts in self.shards:
            emb = self.slot.read(stem, "emb", mmap=True)
            yield from doc_blocks(emb, self.slot.read(stem, "owner"), rows, start)
            start += n_texts
            del emb

    def owners(self) -> np.ndarray:
        """Text index (in the set) of every row: ``arange(n)`` for one vector per text."""
        if not self.multi:
            return np.arange(self.n)
        out, start = [], 0
        for stem, n_texts in self.shards:
            out.append(self.slot.read(stem, "owner").astype(np.int64) + start)
            start += n_texts
        return np.concatenate(out) if out else np.zeros(0, np.int64)

    def blocks(self, rows: int = 50_000) -> Iterator[tuple[int, np.ndarray]]:
        buf = np.empty((min(rows, max(self.vectors, 1)), self.dim), np.float32)
        start = fill = 0
        for stem, _ in self.shards:
            part = self.slot.read(stem, "emb", mmap=True)
            at = 0
            while at < len(part):
                take = min(len(part) - at, len(buf) - fill)
                buf[fill:fill + take] = part[at:at + take]
                fill, at = fill + take, at + take
                if fill == len(buf):
                    yield start, buf
                    start, fill = start + fill, 0
            del part  # unmap: pages of finished shards leave the resident set
        if fill:
            yield start, buf[:fill]

    def array(self) -> np.ndarray:
        out = np.empty((self.vectors, self.dim), np.float32)
        for start, block in self.blocks():
            out[start:start + len(block)] = block
        return out

    def __array__(self, dtype=None, copy=None):
        a = self.array()
        return a if dtype is None else a.astype(dtype)
