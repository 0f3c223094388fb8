"""Streaming through store shards: same numbers as one shard, a kill loses at most the shard in flight, and
bad folders fail (or degrade) before any work is lost."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from lmkbench.cli import main
from lmkbench.encoder import PooledEncoder, plan_shards
from lmkbench.results import iter_results

ALL_POOLINGS = ["cls", "mean", "last", "mean_every:k=4", "lmk:g=4", "multicls:g=4", "lmk:split=sentence",
                # the long-document strategies: several vectors per text (agg=max) stream through the same store
                "chunk:size=8,pool=cls,agg=max", "chunk:size=8,agg=mean", "late:size=8,agg=max", "late:size=8,agg=mean"]


def _texts(n: int = 23) -> list[str]:
    """Texts of 0 to ~5 windows of 16 tokens each, so shard boundaries fall among multi-window texts."""
    words = "alpha beta gamma delta. epsilon zeta eta! theta iota kappa? lambda mu nu xi omicron pi".split()
    return ["" if i == 5 else " ".join(words[(i + j) % len(words)] for j in range(1 + (i * 7) % 70)) for i in range(n)]


@pytest.mark.parametrize("policy", ["truncate", "windows"])
def test_sharded_equals_unsharded_for_every_pooling(tiny_bert, policy):
    texts = _texts()
    whole = PooledEncoder(tiny_bert, cache_dir=False, progress=False, max_length=16, long_policy=policy,
                          shard_texts=10_000).encode(texts, ALL_POOLINGS)
    assert whole.stats.shards == 1
    if policy == "windows":
        assert whole.split["mean"].sum() >= 10 and not whole.truncated["mean"].any()
    else:
        assert whole.truncated["mean"].sum() >= 10 and not whole.split["mean"].any()
    for size in (1, 2, 3, 7):
        part = PooledEncoder(tiny_bert, cache_dir=False, progress=False, max_length=16, long_policy=policy,
                             shard_texts=size).encode(texts, ALL_POOLINGS)
        assert part.stats.shards == -(-len(texts) // size)
        np.testing.assert_array_equal(part.token_counts, whole.token_counts)
        for p in whole.embeddings:
            np.testing.assert_allclose(part.embeddings[p], whole.embeddings[p], rtol=0, atol=1e-6, err_msg=f"{p} {size}")
            np.testing.assert_array_equal(part.truncated[p], whole.truncated[p])
            np.testing.assert_array_equal(part.split[p], whole.split[p])
        assert set(part.owners) == set(whole.owners) == {ALL_POOLINGS[7], "late:size=8,pool=mean,agg=max"}
        for p in whole.owners:
            np.testing.assert_array_equal(part.owners[p], whole.owners[p])


def test_shards_are_bounded_by_texts_and_characters():
    texts = ["x" * n for n in (5, 5, 5, 30, 1, 1, 1, 1)]
    shards = list(plan_shards(iter(texts), max_texts=3, max_chars=12))
    assert [len(s) for s in shards] == [2, 1, 1, 3, 1]   # 5+5 | 5 (next would exceed 12) | 30 alone | 1+1+1 | 1
    assert sum(shards, []) == texts


def test_generator_input_streams(tiny_bert):
    texts = _texts(9)
    enc = PooledEncoder(tiny_bert, cache_dir=False, progress=False, max_length=16, shard_texts=2)
    got = enc.encode_set((t for t in texts), ["mean"], n=len(texts))
    ref = PooledEncoder(tiny_bert, cache_dir=False, progress=False, max_length=16).encode(texts, ["mean"])
    np.testing.assert_allclose(got.embeddings["mean"].array(), ref.embeddings["mean"], atol=1e-6)


def test_sharded_run_gives_identical_metrics(tiny_bert, tiny_beir, tmp_path):
    common = ["run", "--model", tiny_bert, "--pooling", "mean,lmk:g=8", "--task", f"beir:{tiny_beir}",
              "--max-length", "64", "--device", "cpu", "--quiet"]
    assert main([*common, "--out", str(tmp_path / "one"), "--no-cache"]) == 0
    assert main([*common, "--out", str(tmp_path / "many"), "--cache-dir", str(tmp_path / "c"), "--shard-size", "2"]) == 0
    one = {r.pooling: r for r in iter_results(tmp_path / "one")}
    many = {r.pooling: r for r in iter_results(tmp_path / "many")}
    for p in one:
        assert {q: v["ndcg_at_10"] for q, v in many[p].items.items()} == \
               {q: v["ndcg_at_10"] for q, v in one[p].items.items()}
        assert many[p].meta.encode_stats["corpus"]["shards"] == 5
    assert not list((tmp_path / "one").glob(".lmkbench-store-*"))  # the temporary store is removed


KILLER = textwrap.dedent('''
    import os, signal, sys
    from lmkbench import store
    from lmkbench.cli import main

    kill_at = int(os.environ["KILL_AT_WRITE"])
    calls = {"n": 0}
    original = store.DiskSlot.write

    def write(self, stem, arrays, **kw):
        calls["n"] += 1
        if calls["n"] == kill_at:      # die in the middle of this shard: one pooling written, the next not
            os.kill(os.getpid(), signal.SIGKILL)
        original(self, stem, arrays, **kw)

    store.DiskSlot.write = write
    sys.exit(main(sys.argv[1:]))
''')


@pytest.mark.parametrize("kill_at", [4, 9])
def test_a_killed_run_loses_at_most_the_shard_in_flight(tiny_bert, tiny_beir, tmp_path, kill_at, capsys):
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    cache = tmp_path / "cache"
    args = ["run", "--model", tiny_bert, "--pooling", "cls,mean", "--task", f"beir:{tiny_beir}", "--max-length", "64",
            "--device", "cpu", "--quiet", "--cache-dir", str(cache), "--shard-size", "2", "--out", str(tmp_path / "out")]
    env = {**os.environ, "KILL_AT_WRITE": str(kill_at), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run([sys.executable, str(script), *args], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr[-2000:]
    # queries (4 shards of 2) are encoded first, then the corpus (5 shards); 2 poolings → 2 writes per shard
    finished = (kill_at - 1) // 2
    assert len(list(cache.rglob("*.ok.json"))) == kill_at - 1
    assert not list((tmp_path / "out").rglob("*.json"))  # nothing evaluated yet

    assert main(args) == 0
    out = capsys.readouterr().out
    rec = {r.pooling: r for r in iter_results(tmp_path / "out")}
    stats = rec["mean"].meta.encode_stats
    reused = stats["queries"]["shards_reused"] + stats["corpus"]["shards_reused"]
    assert reused == finished and "reused" in out
    encoded_again = (stats["queries"]["shards"] + stats["corpus"]["shards"]) - reused
    assert encoded_again == 9 - finished        # the shard in flight and those not started; nothing else
    # identical to a run that was never interrupted
    assert main([*args[:-6], "--no-cache", "--out", str(tmp_path / "fresh")]) == 0   # no --cache-dir: a conflict
    fresh = {r.pooling: r for r in iter_results(tmp_path / "fresh")}
    for p in fresh:
        assert rec[p].items.keys() == fresh[p].items.keys()
        for q in fresh[p].items:
            assert rec[p].items[q]["ndcg_at_10"] == pytest.approx(fresh[p].items[q]["ndcg_at_10"], abs=1e-9)


def _unwritable(tmp_path: Path) -> Path:
    """A folder nobody can create, root included: a path below a regular file."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    return blocker / "results"


def test_unwritable_out_fails_before_the_model_loads(tmp_path, tiny_beir, capsys):
    rc = main(["run", "--model", str(tmp_path / "no-such-model"), "--pooling", "mean", "--task", f"beir:{tiny_beir}",
               "--out", str(_unwritable(tmp_path)), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "results folder" in err and "not writable" in err and "Traceback" not in err


def test_unwritable_cache_warns_and_the_run_continues(tiny_bert, tiny_beir, tmp_path, caplog):
    with caplog.at_level("WARNING", logger="lmkbench.store"):
        rc = main(["run", "--model", tiny_bert, "--pooling", "mean", "--task", f"beir:{tiny_beir}", "--max-length", "64",
                   "--device", "cpu", "--quiet", "--cache-dir", str(_unwritable(tmp_path)), "--out", str(tmp_path / "o")])
    assert rc == 0 and "not writable" in caplog.text
    (rec,) = iter_results(tmp_path / "o")
    assert rec.metrics["ndcg_at_10"] > 0


def test_corpus_is_streamed_not_held(tiny_beir):
    from lmkbench.data.beir import load_beir_folder

    data = load_beir_folder(tiny_beir)
    assert not hasattr(data.corpus, "_texts") and len(data.corpus) == 10
    assert list(data.doc_ids()) == [json.loads(line)["_id"] for line in (tiny_beir / "corpus.jsonl").read_text().splitlines()]
    assert data.doc_text("sep") == "Odd a literal [SEP] token in text and [CLS] too"
    assert list(data.doc_texts())[-1] == data.doc_text("sep")


def test_id_list_is_compact_and_exact():
    from lmkbench.data.ids import IdList

    ids = [f"doc-{i}" for i in range(20_000)] + ["é-unicode", "x"]
    lst = IdList.of(ids)
    assert len(lst) == len(ids) and list(lst) == ids and lst[-2] == "é-unicode" and lst[-1] == "x"
    assert lst[5] == "doc-5" and lst[1:3] == ["doc-1", "doc-2"]
    assert "doc-19999" in lst and "doc-20000" not in lst and 5 not in lst
    assert lst.index("x") == len(ids) - 1 and lst.first_duplicate() is None
    assert lst.nbytes() / len(lst) < 40                       # vs ~150 B for str objects in a list + set
    dup = IdList.of(["a", "b", "c", "b", "a"])
    assert dup.first_duplicate() == 3 and dup.index("b") == 1
