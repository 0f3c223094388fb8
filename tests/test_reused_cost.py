"""Vectors reused from the store keep their cost (issue 22 item 2): each shard's manifest records what its encoding
cost (tokens fed, padded tokens, forward seconds, device, dtype), the encoder reports it for reused shards, and the
report's "Cost per pooling" shows it, marked as reused, instead of "tokens fed 0"."""
from __future__ import annotations

import json

import numpy as np
import pytest

from lmkbench import store
from lmkbench.cli import main
from lmkbench.encoder import PooledEncoder
from lmkbench.errors import LmkbenchError
from lmkbench.report.cost import cost_table
from lmkbench.results import iter_results
from lmkbench.store import DiskStore, MemoryStore

COST = {"tokens": 40, "padded_tokens": 48, "forward_s": 0.25, "device": "cpu", "dtype": "fp32"}
TEXTS = ["solar panels on the roof", "a football match report with a late goal " * 4, "",
         "how to bake sourdough bread at home " * 6, "stock markets fell sharply on monday"]


def _shard(rows=3, dim=4):
    emb = np.eye(rows, dim, dtype=np.float32)
    return {"emb": emb, "ntok": np.arange(rows, dtype=np.int32), "cut": np.zeros(rows, bool),
            "split": np.zeros(rows, bool)}


def test_the_manifest_keeps_the_cost_and_a_new_process_reads_it(tmp_path):
    DiskStore(tmp_path).slot(pooling="mean").write("3-x", _shard(), cost=COST)
    (ok,) = tmp_path.rglob("3-x.ok.json")
    assert json.loads(ok.read_text())["cost"] == COST
    assert DiskStore(tmp_path).slot(pooling="mean").cost("3-x") == COST      # a fresh slot: read and verified
    DiskStore(tmp_path).slot(pooling="cls").write("3-y", _shard())
    assert DiskStore(tmp_path).slot(pooling="cls").cost("3-y") is None       # optional
    mem = MemoryStore().slot(pooling="mean")
    mem.write("3-x", _shard(), cost=COST)
    assert mem.cost("3-x") == COST


@pytest.mark.parametrize("bad", [{**COST, "tokens": -1}, {**COST, "forward_s": "fast"}, {**COST, "device": ""},
                                 {k: v for k, v in COST.items() if k != "dtype"}, {**COST, "extra": 1}, [1]])
def test_a_bad_cost_is_refused_on_write_and_discarded_on_read(tmp_path, bad):
    slot = DiskStore(tmp_path).slot(pooling="mean")
    with pytest.raises(LmkbenchError, match="refusing to store shard 3-x of mean: .*cost"):
        slot.write("3-x", _shard(), cost=bad)
    slot.write("3-x", _shard(), cost=COST)
    (ok,) = tmp_path.rglob("3-x.ok.json")
    ok.write_text(json.dumps({**json.loads(ok.read_text()), "cost": bad}))
    fresh = DiskStore(tmp_path).slot(pooling="mean")
    with pytest.raises(store.BadShard, match="cost"):
        fresh.verify("3-x")
    assert not fresh.has("3-x")                                              # discarded: recomputed next time


@pytest.fixture(scope="module")
def encoder(tiny_bert):
    return PooledEncoder(tiny_bert, cache_dir=False, progress=False, max_length=32, shard_texts=2, device="cpu")


def test_reused_shards_report_the_cost_of_their_encoding(encoder, tmp_path):
    encoder.store = DiskStore(tmp_path)
    first = encoder.encode(TEXTS, ["cls", "lmk:g=8"]).stats
    assert first.reused_tokens == 0 and first.tokens > 0
    again = encoder.encode(TEXTS, ["cls", "lmk:g=8"]).stats
    assert again.shards_reused == again.shards == 3 and again.tokens == 0
    assert again.reused_tokens == first.tokens and again.reused_padded_tokens == first.padded_tokens
    assert again.reused_per_family_tokens == first.per_family_tokens
    assert again.reused_forward_s == pytest.approx(first.forward_s, abs=1e-5)
    assert sum(again.reused_per_family_s.values()) == pytest.approx(first.forward_s, abs=1e-5)
    assert again.reused_devices == {"cpu": 6}                                # 3 shards × 2 families
    # a family encoded again (mean joins cls's plain family) counts as fed now, not as reused
    mixed = encoder.encode(TEXTS, ["cls", "mean", "lmk:g=8"]).stats
    assert set(mixed.per_family_tokens) == {"plain"} and set(mixed.reused_per_family_tokens) == {"lmk:g=8"}
    assert mixed.reused_tokens == first.per_family_tokens["lmk:g=8"]


def test_the_cost_table_shows_reused_vectors_cost_marked_reused(tiny_bert, tiny_beir, tmp_path):
    args = ["run", "--model", tiny_bert, "--pooling", "cls,lmk:g=8", "--task", f"beir:{tiny_beir}", "--max-length",
            "32", "--cache-dir", str(tmp_path / "cache"), "--quiet"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0                  # every shard from the store
    fresh = {r["pooling"]: r for r in cost_table(list(iter_results(tmp_path / "a")))}
    reused = {r["pooling"]: r for r in cost_table(list(iter_results(tmp_path / "b")))}
    for p in ("cls", "lmk:g=8"):
        assert fresh[p]["tokens"] > 0 and not fresh[p]["reused"] and fresh[p]["reused_tokens"] == 0
        assert reused[p]["reused"] and reused[p]["tokens"] == reused[p]["reused_tokens"] == fresh[p]["tokens"]
        assert reused[p]["reused_s"] > 0 and reused[p]["encode_s"] >= reused[p]["reused_s"]
    assert fresh["lmk:g=8"]["tokens"] > fresh["cls"]["tokens"]               # per family, not the run's total
