"""Exact dense search: top-k by dot product of L2-normalised embeddings, chunked over queries and corpus.

Memory stays at ``query_chunk × corpus_chunk`` scores plus the running top-k, whatever the corpus size.
"""
from __future__ import annotations

import numpy as np
import torch


def top_k(queries: np.ndarray, corpus: np.ndarray, k: int = 100, *, query_chunk: int = 1024,
          corpus_chunk: int = 50_000, device: str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Return ``(scores, indices)`` of shape ``[n_queries, min(k, n_docs)]``, best first."""
    nq, nd = len(queries), len(corpus)
    k = min(k, nd)
    out_s = np.empty((nq, k), np.float32)
    out_i = np.empty((nq, k), np.int64)
    if nq == 0 or k == 0:
        return out_s[:, :0], out_i[:, :0]
    c_all = torch.from_numpy(np.ascontiguousarray(corpus, dtype=np.float32))
    for qs in range(0, nq, query_chunk):
        q = torch.from_numpy(np.ascontiguousarray(queries[qs:qs + query_chunk], dtype=np.float32)).to(device)
        best_s = torch.full((len(q), 0), -float("inf"), device=device)
        best_i = torch.zeros((len(q), 0), dtype=torch.long, device=device)
        for cs in range(0, nd, corpus_chunk):
            c = c_all[cs:cs + corpus_chunk].to(device)
            s = q @ c.T
            kk = min(k, s.shape[1])
            ts, ti = torch.topk(s, kk, dim=1)
            cand_s = torch.cat([best_s, ts], dim=1)
            cand_i = torch.cat([best_i, ti + cs], dim=1)
            keep = min(k, cand_s.shape[1])
            sel_s, sel = torch.topk(cand_s, keep, dim=1)
            best_s, best_i = sel_s, torch.gather(cand_i, 1, sel)
        out_s[qs:qs + len(q)] = best_s.cpu().numpy()
        out_i[qs:qs + len(q)] = best_i.cpu().numpy()
    return out_s, out_i
