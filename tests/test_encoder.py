"""The pooled encoder against a direct forward pass computed by hand."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from lmkbench.encoder import PooledEncoder, batches_by_budget
from lmkbench.poolings import canonical, parse_poolings

TEXTS = ["short text", "a literal [SEP] stays text", "", "word " * 150, "One sentence. Another one! A third?"]


def _forward(enc, ids):
    with torch.inference_mode():
        out = enc.loaded.model(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long))
    return out.last_hidden_state[0].double().numpy()


def _unit(v):
    return v / np.linalg.norm(v)


@pytest.fixture(scope="module")
def enc(tiny_bert):
    return PooledEncoder(tiny_bert, cache_dir=False, progress=False, max_length=64)


def test_every_pooling_matches_a_manual_forward(enc):
    tok = enc.loaded.tokenizer
    specs = ["cls", "mean", "last", "mean_every:k=8", "lmk:g=4", "multicls:g=4"]
    res = enc.encode(TEXTS, specs)
    for i, text in enumerate(TEXTS):
        content = tok(text.strip(), add_special_tokens=False, split_special_tokens=True)["input_ids"]
        plain = [101] + content[:62] + [102]
        h = _forward(enc, plain)
        assert np.allclose(res.embeddings["cls"][i], _unit(h[0]), atol=1e-5)
        assert np.allclose(res.embeddings["mean"][i], _unit(h.mean(0)), atol=1e-5)
        assert np.allclose(res.embeddings["last"][i], _unit(h[-1]), atol=1e-5)
        assert np.allclose(res.embeddings["mean_every:k=8"][i], _unit(h[::8].mean(0)), atol=1e-5)
        # lmk by the paper's recipe: [CLS] c1 [SEP] c2 [SEP] ... truncated; mean at SEP positions
        lmk = [101]
        for j in range(0, len(content), 4):
            lmk += content[j:j + 4] + [102]
        lmk = (lmk if content else [101, 102])[:64]
        h = _forward(enc, lmk)
        pos = [p for p, t in enumerate(lmk) if t == 102]
        assert np.allclose(res.embeddings["lmk:g=4"][i], _unit(h[pos].mean(0)), atol=1e-5)
        mc = []
        for j in range(0, len(content), 4):
            mc += [101] + content[j:j + 4]
        mc = mc[:63] + [102] if content else [101, 102]
        h = _forward(enc, mc)
        pos = [p for p, t in enumerate(mc[:-1]) if t == 101]
        assert np.allclose(res.embeddings["multicls:g=4"][i], _unit(h[pos].mean(0)), atol=1e-5)
    assert res.truncated["mean"].tolist() == [False, False, False, True, False]
    assert res.token_counts[3] == 150


def test_no_surviving_landmark_falls_back_to_masked_mean(tiny_bert):
    enc = PooledEncoder(tiny_bert, cache_dir=False, progress=False, max_length=8)
    text = "one two three four five six seven eight nine ten"
    res = enc.encode([text], ["lmk:g=32"])
    content = enc.loaded.tokenizer(text, add_special_tokens=False)["input_ids"]
    ids = ([101] + content)[:8]  # no SEP survives the cut
    h = _forward(enc, ids)
    assert np.allclose(res.embeddings["lmk:g=32"][0], _unit(h.mean(0)), atol=1e-5)


def test_windows_pool_across_all_windows(tiny_bert):
    enc = PooledEncoder(tiny_bert, cache_dir=False, progress=False, max_length=16, long_policy="windows")
    text = " ".join(f"w{i}" for i in range(40))
    content = enc.loaded.tokenizer(text, add_special_tokens=False)["input_ids"]
    res = enc.encode([text], ["mean", "cls", "lmk:g=4"])
    windows = [[101] + content[j:j + 14] + [102] for j in range(0, len(content), 14)]
    hs = [_forward(enc, w) for w in windows]
    all_tokens = np.concatenate(hs)
    assert np.allclose(res.embeddings["mean"][0], _unit(all_tokens.mean(0)), atol=1e-5)
    assert np.allclose(res.embeddings["cls"][0], _unit(np.mean([h[0] for h in hs], 0)), atol=1e-5)
    assert res.split["mean"][0] and not res.truncated["mean"][0]  # windows cover every token: split, not cut
    # lmk windows hold whole chunks: (16 - 1) // 5 = 3 chunks of 4 per window
    lmk_states = []
    per_window = 12
    for j in range(0, len(content), per_window):
        ids = [101]
        for k in range(j, min(j + per_window, len(content)), 4):
            ids += content[k:k + 4] + [102]
        h = _forward(enc, ids)
        lmk_states += [h[p] for p, t in enumerate(ids) if t == 102]
    assert np.allclose(res.embeddings["lmk:g=4"][0], _unit(np.mean(lmk_states, 0)), atol=1e-5)


def test_token_budget_and_padding_do_not_change_embeddings(tiny_bert):
    a = PooledEncoder(tiny_bert, cache_dir=False, progress=False, token_budget=64, max_length=64).encode(TEXTS, ["mean", "lmk"])
    b = PooledEncoder(tiny_bert, cache_dir=False, progress=False, token_budget=100000, max_length=64).encode(TEXTS, ["mean", "lmk"])
    for k in a.embeddings:
        assert np.allclose(a.embeddings[k], b.embeddings[k], atol=1e-5)
    assert a.stats.batches > b.stats.batches


def test_poolings_sharing_inputs_share_one_forward(tiny_bert):
    enc = PooledEncoder(tiny_bert, cache_dir=False, progress=False, max_length=64)
    res = enc.encode(TEXTS, ["cls", "mean", "last", "mean_every", "lmk"])
    assert set(res.stats.per_family_tokens) == {"plain", "lmk:g=32"}


def test_modernbert_runs_every_pooling(tiny_modernbert):
    enc = PooledEncoder(tiny_modernbert, cache_dir=False, progress=False, max_length=64)
    res = enc.encode(TEXTS, ["cls", "mean", "lmk:g=8", "lmk:split=sentence"])
    for v in res.embeddings.values():
        assert v.shape == (len(TEXTS), 32) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)


def test_cache_serves_a_rerun_and_is_keyed_by_max_length(tiny_bert, tmp_path):
    first = PooledEncoder(tiny_bert, cache_dir=tmp_path, progress=False, max_length=64).encode(TEXTS, ["mean", "lmk"])
    again = PooledEncoder(tiny_bert, cache_dir=tmp_path, progress=False, max_length=64).encode(TEXTS, ["mean", "lmk"])
    assert again.stats.cached == 2 * len(TEXTS) and again.stats.tokens == 0
    for k in first.embeddings:
        assert np.array_equal(first.embeddings[k], again.embeddings[k])
    assert again.token_counts.tolist() == first.token_counts.tolist()
    other = PooledEncoder(tiny_bert, cache_dir=tmp_path, progress=False, max_length=32).encode(TEXTS, ["mean"])
    assert other.stats.cached == 0



def test_store_reuses_whole_shards_of_a_grown_set(tiny_bert, tmp_path):
    def enc():
        return PooledEncoder(tiny_bert, cache_dir=tmp_path, progress=False, max_length=64, shard_texts=2)

    first = enc().encode(TEXTS, ["mean"])                     # shards of 2 + 2 + 1 texts
    more = enc().encode(TEXTS + ["new"], ["mean"])            # 2 + 2 + 2: the first two shards are the same texts
    assert more.stats.shards_reused == 2 and more.stats.cached == 4 and more.stats.texts == len(TEXTS) + 1
    assert np.array_equal(more.embeddings["mean"][:4], first.embeddings["mean"][:4])


@pytest.mark.parametrize("damage", ["truncate", "flip", "manifest"])
def test_damaged_store_shard_is_recomputed_with_a_warning(tiny_bert, tmp_path, caplog, damage):
    first = PooledEncoder(tiny_bert, cache_dir=tmp_path, progress=False, max_length=64).encode(TEXTS, ["mean"])
    (emb,) = tmp_path.rglob("*.emb.npy")
    data = emb.read_bytes()
    if damage == "truncate":
        emb.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        emb.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    else:
        next(tmp_path.rglob("*.ok.json")).write_text("{not json")
    with caplog.at_level("WARNING", logger="lmkbench.store"):
        res = PooledEncoder(tiny_bert, cache_dir=tmp_path, progress=False, max_length=64).encode(TEXTS, ["mean"])
    assert res.stats.cached == 0 and res.stats.shards_reused == 0
    assert np.allclose(res.embeddings["mean"], first.embeddings["mean"], atol=1e-6)
    assert "discarding bad store shard" in caplog.text and emb.name.split(".")[0] in caplog.text
    again = PooledEncoder(tiny_bert, cache_dir=tmp_path, progress=False, max_length=64).encode(TEXTS, ["mean"])
    assert again.stats.shards_reused == 1


def test_read_only_cache_warns_and_continues(tiny_bert, tmp_path, caplog):
    import os

    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o555)
    try:
        if os.access(ro, os.W_OK) and os.geteuid() == 0:
            # root writes anyway: stand in with a path below a regular file, which nobody can create
            ro = tmp_path / "file"
            ro.write_text("x")
            ro = ro / "cache"
        with caplog.at_level("WARNING", logger="lmkbench.store"):
            enc = PooledEncoder(tiny_bert, cache_dir=ro, progress=False, max_length=64)
            res = enc.encode(TEXTS, ["mean"])
        assert "not writable" in caplog.text and enc.store.temporary
        assert res.embeddings["mean"].shape == (len(TEXTS), 32)
    finally:
        os.chmod(tmp_path / "ro", 0o755)


def test_batches_by_budget_respects_budget():
    lengths = [5, 100, 30, 30, 7, 64, 64, 64]
    batches = batches_by_budget(lengths, 128)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        assert len(b) == 1 or max(lengths[i] for i in b) * len(b) <= 128


def test_pooling_specs_canonicalise():
    assert canonical("lmk") == "lmk:g=32" == canonical("lmk:g=32,split=fixed")
    assert canonical("lmk:split=sentence") == "lmk:split=sentence"
    assert [str(s) for s in parse_poolings("cls,mean,lmk,lmk:g=32,lmk:g=64,mean_every:k=8")] == \
        ["cls", "mean", "lmk:g=32", "lmk:g=64", "mean_every:k=8"]


def test_max_length_above_model_limit_is_an_error(tiny_bert):
    from lmkbench.errors import LmkbenchError

    with pytest.raises(LmkbenchError, match="exceeds the model's limit"):
        PooledEncoder(tiny_bert, cache_dir=False, max_length=4096)
