"""Encoder internals that exist for speed: optimal batching, bounded tokenizer calls, the shard-wise cache read.

Speed itself is measured by ``benchmarks/run.py``, not here; these tests pin down that the fast paths
return exactly what the plain ones do.
"""
from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from lmkbench import encoder as encoder_mod
from lmkbench.encoder import StoredEmbeddings
from lmkbench.store import DiskStore, shard_stem, text_hash
from lmkbench.encoder import PooledEncoder, batches_by_budget, plan_shards

TEXTS = ["short text", "a literal [SEP] stays text", "", "word " * 150, "One sentence. Another one! A third?",
         "alpha beta gamma " * 9, "x", "delta " * 40, "epsilon zeta " * 20]


def _cost(lengths, batches, batch_cost):
    return sum(max(lengths[i] for i in b) * len(b) + batch_cost for b in batches)


def _brute_force(lengths, budget, max_rows, batch_cost):
    """Every way to cut the longest-first order into consecutive batches; the cheapest valid cost."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    best = np.inf
    for mask in itertools.product([0, 1], repeat=len(order) - 1):
        batches, cur = [], [order[0]]
        for cut, i in zip(mask, order[1:]):
            if cut:
                batches.append(cur)
                cur = []
            cur.append(i)
        batches.append(cur)
        ok = all(len(b) == 1 or (max(lengths[i] for i in b) * len(b) <= budget and len(b) <= max_rows) for b in batches)
        if ok:
            best = min(best, _cost(lengths, batches, batch_cost))
    return best


@pytest.mark.parametrize("seed", range(8))
def test_batching_is_optimal_and_valid(seed):
    rng = random.Random(seed)
    lengths = [rng.randint(1, 40) for _ in range(rng.randint(1, 10))]
    budget, max_rows, batch_cost = rng.choice([16, 40, 64, 200]), rng.choice([2, 3, 512]), rng.choice([0, 5, 30, 1000])
    batches = batches_by_budget(lengths, budget, max_rows, batch_cost=batch_cost)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        assert len(b) == 1 or (max(lengths[i] for i in b) * len(b) <= budget and len(b) <= max_rows)
        assert lengths[b[0]] == max(lengths[i] for i in b)  # the encoder reads a batch's width from its first row
    assert _cost(lengths, batches, batch_cost) == _brute_force(lengths, budget, max_rows, batch_cost)


def test_zero_batch_cost_means_zero_padding_and_cost_buys_fewer_batches():
    rng = random.Random(1)
    lengths = [rng.randint(3, 60) for _ in range(300)]
    free = batches_by_budget(lengths, 512, batch_cost=0)
    assert all(len({lengths[i] for i in b}) == 1 for b in free)
    counts = [len(batches_by_budget(lengths, 512, batch_cost=c)) for c in (0, 16, 64, 256, 10**9)]
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1]
    assert batches_by_budget([], 512) == []


def test_embeddings_do_not_depend_on_batching(tiny_bert):
    specs = ["cls", "mean", "lmk:g=4", "mean_every:k=8"]
    runs = [PooledEncoder(tiny_bert, cache_dir=False, progress=False, max_length=32, long_policy=policy,
                          token_budget=budget, batch_cost=cost).encode(TEXTS, specs)
            for policy in ("truncate", "windows") for budget, cost in ((32, 0), (4096, 0), (4096, 10**6))]
    for group in (runs[:3], runs[3:]):
        for other in group[1:]:
            for k in specs:
                assert np.allclose(group[0].embeddings[k], other.embeddings[k], atol=1e-5)
    exact = runs[1].stats  # cost 0: every batch holds equal lengths, so nothing is padded
    assert exact.padded_tokens == exact.tokens
    assert runs[2].stats.batches < runs[1].stats.batches


def test_defaults_come_from_the_device_table(tiny_bert):
    enc = PooledEncoder(tiny_bert, cache_dir=False, progress=False, device="cpu")
    assert (enc.token_budget, enc.batch_cost) == encoder_mod.BATCHING["cpu"]
    assert enc.describe()["batch_cost"] == enc.batch_cost
    from lmkbench.errors import LmkbenchError

    with pytest.raises(LmkbenchError, match="batch_cost"):
        PooledEncoder(tiny_bert, cache_dir=False, progress=False, batch_cost=-1)


def test_text_groups_bound_texts_and_characters():
    texts = ["a" * n for n in (5, 50, 3, 200, 1, 1, 1, 80)]
    groups = list(plan_shards(iter(texts), max_texts=3, max_chars=60))   # tokenizer calls and store shards alike
    assert [t for g in groups for t in g] == texts
    for g in groups:
        assert len(g) <= 3
        assert len(g) == 1 or sum(len(t) for t in g) <= 60  # one over-long text goes alone


def test_bounded_tokenizer_calls_give_the_same_tokens(tiny_bert, monkeypatch):
    enc = PooledEncoder(tiny_bert, cache_dir=False, progress=False)
    whole = enc.tokenize(TEXTS, sentences=True)
    monkeypatch.setattr(encoder_mod, "TOKENIZE_CHARS", 20)
    monkeypatch.setattr(encoder_mod, "TOKENIZE_TEXTS", 2)
    pieces = enc.tokenize(TEXTS, sentences=True)
    assert [c.ids.tolist() for c in pieces] == [c.ids.tolist() for c in whole]
    assert [c.sentences for c in pieces] == [c.sentences for c in whole]


def test_stored_embeddings_read_back_across_shards_in_order(tmp_path):
    rng = np.random.default_rng(0)
    n = 57
    emb = rng.standard_normal((n, 8)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    slot = DiskStore(tmp_path).slot(model="m", pooling="mean")
    shards = []
    for s in range(0, n, 10):
        rows = emb[s:s + 10]
        stem = shard_stem([text_hash(f"text {i}") for i in range(s, s + len(rows))])
        slot.write(stem, {"emb": rows, "ntok": np.arange(len(rows)), "cut": np.zeros(len(rows), bool),
                          "split": np.zeros(len(rows), bool)})
        shards.append((stem, len(rows)))
    fresh = DiskStore(tmp_path).slot(model="m", pooling="mean")  # reads and verifies the shards from disk
    stored = StoredEmbeddings(fresh, shards, 8)
    assert all(fresh.has(stem) for stem, _ in shards)
    assert np.array_equal(stored.array(), emb)
    blocks = list((start, b.copy()) for start, b in stored.blocks(13))   # blocks cut across shard boundaries
    assert [start for start, _ in blocks] == list(range(0, n, 13))
    assert np.array_equal(np.concatenate([b for _, b in blocks]), emb)
