"""Exact dense search: top-k by dot product of L2-normalised embeddings, chunked over queries and corpus.

The corpus may be the embedding store's shards (read block by block, memory-mapped and released shard by
shard), so host memory does not depend on the corpus size. Memory stays at one ``query_chunk × corpus_chunk``
score buffer (allocated once and reused: 195 MiB at
the defaults) plus the running top-k, whatever the corpus and query counts: scores for the whole corpus
are never held at once. Each corpus chunk's top-k is merged into the running top-k, so the answer equals
a full sort (``benchmarks/run.py`` checks it against one full score matrix and measures both). Measured
on CPU, smaller corpus chunks cost time (``torch.topk`` per chunk adds up): for 1k queries × 100k docs,
+15 % at 32k and +35 % at 16k, while 50k matches the one-matrix time.

A *multi-vector* corpus (several rows per document with an ``owner`` per row: the ``chunk``/``late``
strategies with agg=max) is searched the same way, in blocks that end on a document boundary: each block's
row scores are reduced to a document score by their maximum (MaxP), then merged into the running top-k over
documents.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch


def corpus_blocks(corpus, rows: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, block)`` of at most ``rows`` corpus embeddings: slices of an array, or the store's shards read
    in turn (:class:`~lmkbench.encoder.StoredEmbeddings`), so the corpus is never in memory at once."""
    if hasattr(corpus, "blocks"):
        yield from corpus.blocks(rows)
        return
    for start in range(0, len(corpus), rows):
        yield start, corpus[start:start + rows]


def doc_blocks(emb: np.ndarray, owner: np.ndarray, rows: int, start: int = 0):
    """``(first doc, rows, owner relative to it)`` blocks of a multi-vector array, each ending on a document
    boundary and holding at most ``rows`` rows (a document with more rows goes alone). ``owner`` is sorted."""
    owner = np.asarray(owner, np.int64)
    if not len(owner):
        return
    bounds = np.flatnonzero(np.diff(owner)) + 1          # row where each next document starts
    bounds = np.concatenate([[0], bounds, [len(owner)]])
    a = 0
    while a < len(bounds) - 1:
        b = a + 1
        while b < len(bounds) - 1 and bounds[b + 1] - bounds[a] <= rows:
            b += 1
        lo, hi = int(bounds[a]), int(bounds[b])
        first = int(owner[lo])
        yield start + first, np.array(emb[lo:hi], np.float32), owner[lo:hi] - first  # a copy: mmap is read-only
        a = b


def _corpus_doc_blocks(corpus, rows: int, owners):
    if owners is not None:
        yield from doc_blocks(corpus, owners, rows)
    elif hasattr(corpus, "doc_blocks"):
        yield from corpus.doc_blocks(rows)
    else:
        for start, block in corpus_blocks(corpus, rows):
            yield start, block, None


def top_k(queries: np.ndarray, corpus, k: int = 100, *, query_chunk: int = 1024,
          corpus_chunk: int = 50_000, device: str = "cpu", owners: np.ndarray | None = None,
          n_docs: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(scores, indices)`` of shape ``[n_queries, min(k, n_docs)]``, best first.

    ``corpus`` is an ``[n_docs, dim]`` array or stored embeddings (anything with ``blocks(rows)``; a
    multi-vector store set is searched by its best row per document). ``owners`` (sorted document index of
    each row) makes an array corpus multi-vector; ``n_docs`` then defaults to ``owners.max() + 1``.
    """
    nq = len(queries)
    if owners is not None:
        nd = int(n_docs if n_docs is not None else (int(np.max(owners)) + 1 if len(owners) else 0))
    else:
        nd = len(corpus)
    k = min(k, nd)
    out_s = np.empty((nq, k), np.float32)
    out_i = np.empty((nq, k), np.int64)
    if nq == 0 or k == 0:
        return out_s[:, :0], out_i[:, :0]
    qc, cc = min(query_chunk, nq), max(1, min(corpus_chunk, getattr(corpus, "vectors", len(corpus))))
    buf = torch.empty(qc * cc, dtype=torch.float32, device=device)  # reused for every chunk's scores
    with torch.inference_mode():
        for qs in range(0, nq, qc):
            q = torch.from_numpy(np.ascontiguousarray(queries[qs:qs + qc], dtype=np.float32)).to(device)
            best_s = best_i = None
            for cs, block, own in _corpus_doc_blocks(corpus, cc, owners):
                c = torch.from_numpy(np.ascontiguousarray(block, dtype=np.float32)).to(device)
                if len(q) * len(c) > len(buf):
                    buf = torch.empty(len(q) * len(c), dtype=torch.float32, device=device)
                s = buf[: len(q) * len(c)].view(len(q), len(c))
                torch.mm(q, c.T, out=s)
                if own is not None:  # MaxP: a document scores its best row
                    o = torch.from_numpy(np.asarray(own, np.int64)).to(device)
                    docs = torch.full((len(q), int(own[-1]) + 1), -torch.inf, device=device)
                    s = docs.scatter_reduce_(1, o.expand(len(q), -1), s, "amax")
                ts, ti = torch.topk(s, min(k, s.shape[1]), dim=1)
                ti += cs
                if best_s is None:
                    best_s, best_i = ts, ti
                    continue
                cand_s = torch.cat([best_s, ts], dim=1)
                cand_i = torch.cat([best_i, ti], dim=1)
                best_s, sel = torch.topk(cand_s, min(k, cand_s.shape[1]), dim=1)
                best_i = torch.gather(cand_i, 1, sel)
            out_s[qs:qs + len(q)] = best_s.cpu().numpy()
            out_i[qs:qs + len(q)] = best_i.cpu().numpy()
    return out_s, out_i
