"""Sharded encoding under torchrun (2 CPU processes, gloo) gives what one process gives."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from lmkbench.data.beir import load_beir_folder
from lmkbench.distributed import is_main_process, maybe_distributed, world
from lmkbench.errors import LmkbenchError
from lmkbench.encoder import PooledEncoder
from lmkbench.results import iter_results
from lmkbench.runner import Runner, RunSettings

POOLINGS = ["cls", "mean", "lmk:g=8"]

WORKER = textwrap.dedent('''
    import sys
    from pathlib import Path
    import numpy as np
    from lmkbench.data.beir import load_beir_folder
    from lmkbench.distributed import ShardedEncoder, is_main_process, maybe_distributed, world
    from lmkbench.encoder import PooledEncoder
    from lmkbench.runner import Runner, RunSettings

    model, beir, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    poolings = sys.argv[4].split(",")
    rank, size, _ = world()
    assert size == 2, size
    # 3 texts a shard: several shards per rank, and windows-free shard boundaries between queries and docs
    enc = maybe_distributed(PooledEncoder(model, device="cpu", cache_dir=out / "cache", progress=False, max_length=64,
                                          shard_texts=3))
    assert isinstance(enc, ShardedEncoder) and enc.describe()["distributed"]["world_size"] == 2
    data = load_beir_folder(beir)
    texts = list(data.doc_texts()) + list(data.queries.values())
    res = enc.encode(texts, poolings)
    assert res.stats.shards == 3 and res.stats.texts == len(texts) == 18  # this rank's 3 of the 6 shards
    np.savez(out / f"emb{rank}.npz", ntok=res.token_counts,
             **{p.replace(":", "_").replace("=", "_"): res.embeddings[p] for p in poolings})
    # the runner as `lmkbench run` would drive it; every rank writes to its own folder here, to compare both
    settings = RunSettings(model=model, poolings=poolings, out_dir=out / f"rank{rank}", max_length=64,
                           cache_dir=False, progress=False, device="cpu")
    Runner(settings, encoder=enc, log=lambda *a: None).run([f"beir:{beir}"])
    (out / f"done{rank}").write_text(str(is_main_process()))
''')


def _key(p: str) -> str:
    return p.replace(":", "_").replace("=", "_")


def test_two_processes_match_one(tiny_bert, tiny_beir, tmp_path):
    worker = tmp_path / "worker.py"
    worker.write_text(WORKER)
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        env.pop(var, None)
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           str(worker), tiny_bert, str(tiny_beir), str(out), ",".join(POOLINGS)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "done0").read_text() == "True" and (out / "done1").read_text() == "False"

    # one process, same texts
    enc = PooledEncoder(tiny_bert, device="cpu", cache_dir=False, progress=False, max_length=64)
    data = load_beir_folder(tiny_beir)
    texts = list(data.doc_texts()) + list(data.queries.values())
    single = enc.encode(texts, POOLINGS)
    for rank in (0, 1):
        got = np.load(out / f"emb{rank}.npz")
        np.testing.assert_array_equal(got["ntok"], single.token_counts)
        for p in POOLINGS:
            np.testing.assert_allclose(got[_key(p)], single.embeddings[p], rtol=0, atol=1e-6)

    # the shards the two ranks cached add up to the whole set: a single process now finds every text
    cached = PooledEncoder(tiny_bert, device="cpu", cache_dir=out / "cache", progress=False, max_length=64,
                           shard_texts=3)
    again = cached.encode(texts, POOLINGS).stats
    assert again.cached == len(texts) * len(POOLINGS) and again.shards_reused == again.shards == 6 and again.tokens == 0

    # results: identical NDCG per query to a single-process run
    ref_dir = tmp_path / "single"
    Runner(RunSettings(model=tiny_bert, poolings=POOLINGS, out_dir=ref_dir, max_length=64, cache_dir=False,
                       progress=False, device="cpu"), encoder=enc, log=lambda *a: None).run([f"beir:{tiny_beir}"])
    ref = {r.pooling: r for r in iter_results(ref_dir)}
    assert set(ref) == set(POOLINGS)
    assert not (out / "rank1").exists()  # only rank 0 writes result files
    for rank in (0,):
        got = {r.pooling: r for r in iter_results(out / f"rank{rank}")}
        assert set(got) == set(ref)
        for p in POOLINGS:
            assert {q: v["ndcg_at_10"] for q, v in got[p].items.items()} == \
                   {q: v["ndcg_at_10"] for q, v in ref[p].items.items()}
            assert got[p].metrics == ref[p].metrics
            assert got[p].meta.get("distributed") == {"world_size": 2, "backend": "gloo"}


def test_not_distributed_is_a_no_op(monkeypatch):
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    sentinel = object()
    assert maybe_distributed(sentinel) is sentinel
    assert world() == (0, 1, 0) and is_main_process()
    monkeypatch.setenv("RANK", "1")
    assert not is_main_process()


def test_a_rank_encodes_only_its_shards_and_needs_the_others_in_the_store(tiny_bert, tmp_path):
    texts = [f"text number {i} about bread" for i in range(7)]              # shards of 2: 4 shards
    enc = PooledEncoder(tiny_bert, device="cpu", cache_dir=tmp_path, progress=False, max_length=64, shard_texts=2)
    enc.part = (1, 2)                                                          # rank 1 of 2: shards 1 and 3
    with pytest.raises(LmkbenchError, match="missing after encoding"):
        enc.encode_set(texts, ["mean"])
    assert enc.total.shards == 2 and enc.total.texts == 7 and enc.total.sequences == 3
    enc.part = (0, 2)                                                          # rank 0: shards 0 and 2, then all
    got = enc.encode_set(texts, ["mean"])
    assert got.stats.shards == 2 and got.stats.sequences == 4 and len(got.embeddings["mean"]) == 7
    whole = PooledEncoder(tiny_bert, device="cpu", cache_dir=False, progress=False, max_length=64).encode(texts, ["mean"])
    np.testing.assert_allclose(got.embeddings["mean"].array(), whole.embeddings["mean"], atol=1e-6)


def test_lmkbench_run_under_torchrun(tiny_bert, tiny_beir, tmp_path):
    """`torchrun -m lmkbench run` once runner.py wraps its encoder with maybe_distributed (the hook)."""
    import lmkbench.runner

    if "maybe_distributed" not in Path(lmkbench.runner.__file__).read_text():
        pytest.skip("runner.py does not call lmkbench.distributed.maybe_distributed yet")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    args = ["run", "--model", tiny_bert, "--pooling", "mean,lmk:g=8", "--task", f"beir:{tiny_beir}",
            "--max-length", "64", "--device", "cpu", "--no-cache", "--quiet"]
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "lmkbench", *args, "--out", str(tmp_path / "two")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("ndcg_at_10") == 1          # only rank 0 prints the summary
    from lmkbench.cli import main

    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    two = {r.pooling: r for r in iter_results(tmp_path / "two")}
    one = {r.pooling: r for r in iter_results(tmp_path / "one")}
    assert set(two) == set(one) == {"mean", "lmk:g=8"}
    for p in one:
        assert two[p].metrics == one[p].metrics and two[p].meta.get("distributed")["world_size"] == 2
