"""Cutting work into pieces: shards of a text set (bounded texts and characters) and batches of sequences
(bounded rows × padded length, chosen to minimise padding plus a per-batch cost).

Neither decides a stored vector: shard boundaries decide which texts share a store shard (its name hashes
its texts), and a batch's padding is masked out of the forward pass (batch shapes move a vector by float rounding
at most, which is why the token budget is not in the store key). The defaults per device kind live here.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np


def batches_by_budget(lengths: list[int], token_budget: int, max_rows: int = 512, *,
                      batch_cost: int = 0) -> list[list[int]]:
    """Indices cut into batches with rows × longest row ≤ ``token_budget`` (a longer row goes alone) and at
    most ``max_rows`` rows, choosing the cut that minimises padded tokens + ``batch_cost`` per batch.

    Texts are sorted longest first, so an optimal batching is a set of cuts in that order, found exactly
    by dynamic programming (``cost[j] = min_i cost[i] + len[i] · (j − i) + batch_cost``; milliseconds for
    thousands of texts). ``batch_cost`` is the fixed price of one more forward pass, in tokens: 0 gives
    zero padding (equal lengths only), larger values trade a little padding for fewer, larger batches.

    Why: a padded position costs as much as a real one, and on CPU a forward pass costs about the same per
    token from ~128 tokens per batch upwards, so padding is the waste to cut; but each batch also has a
    fixed cost (dispatch, thread synchronisation, larger on a busy machine), which ``batch_cost`` prices.
    A batch with no padding at all also lets SDPA drop the attention mask and take its flash kernel.
    """
    n = len(lengths)
    if n == 0:
        return []
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    sorted_len = np.asarray(lengths, dtype=np.int64)[order]
    best = np.zeros(n + 1)
    cut = np.zeros(n + 1, dtype=np.int64)
    for j in range(1, n + 1):
        # batch = sorted rows i..j-1, as wide as row i; rows i ≥ j - budget // len[j-1] can satisfy the budget
        lo = max(0, j - max_rows, j - max(1, token_budget // max(int(sorted_len[j - 1]), 1)))
        rows = np.arange(j - lo, 0, -1)
        width = sorted_len[lo:j]
        cost = best[lo:j] + width * rows + batch_cost
        cost[(width * rows > token_budget) & (rows > 1)] = np.inf
        k = int(np.argmin(cost))  # first minimum: the largest batch among equal costs
        best[j], cut[j] = cost[k], lo + k
    out: list[list[int]] = []
    j = n
    while j > 0:
        out.append(order[cut[j]:j].tolist())
        j = int(cut[j])
    return out[::-1]


#: batching defaults per device kind: (token budget, batch cost in tokens); see :func:`batches_by_budget`.
#: CPU, measured on 2 cores (160 SciFact abstracts at 512 tokens, sentence-transformers = 1): budget 4096
#: with batch cost 64 → 1.47×, 256 → 1.45× (2 threads, quiet machine; 1 thread: 1.37× and 1.35×);
#: 16384/256 → 1.36×, 16384/0 → 1.29×. 256 keeps fewer batches (15 vs 21 there), which matters on a
#: busy machine where every batch waits for its threads. Sweep: ``python benchmarks/run.py --only sweep``.
#: CUDA (not measured here): larger batches keep the GPU busy, so one more batch must save more padding.
BATCHING = {"cpu": (4096, 256), "cuda": (65536, 4096)}


#: shard bounds per device kind: (texts, characters). Characters bound content tokens from above for
#: WordPiece/BPE tokenizers (a token covers at least one character), so a shard's memory is bounded before it
#: is tokenized: at the CPU default about 4M chars ≈ ≤ 4M tokens → ≤ 16 MB of int32 ids per family, and
#: per-text float64 accumulators of 4096 × dim per pooling (25 MB at 768 dimensions).
SHARDING = {"cpu": (4096, 4_000_000), "cuda": (32768, 32_000_000)}


def plan_shards(texts: Iterable[str], max_texts: int, max_chars: int) -> Iterator[list[str]]:
    """Consecutive shards of ≤ ``max_texts`` texts and ≤ ``max_chars`` characters (≥ 1 text each)."""
    shard: list[str] = []
    chars = 0
    for t in texts:
        if shard and (len(shard) >= max_texts or chars + len(t) > max_chars):
            yield shard
            shard, chars = [], 0
        shard.append(t)
        chars += len(t)
    if shard:
        yield shard
