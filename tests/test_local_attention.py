"""lmkbench.attention: ModernBERT's local layers through the banded kernel equal the eager forward (the
reference), at lengths below, at and above the window, padded or not, fp32 and bf16 autocast, up to 8k;
local layers really take the banded path (O(L·w) sdpa problems, never L×L); BERT is left alone; load_model
records which implementation runs."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lmkbench import attention as la
from lmkbench.models import load_model


def _modernbert(minilm_tokenizer, *, hidden=32, heads=2, layers=3, local=16, positions=512, seed=0):
    """A random ModernBERT (global layer 0, local layers 1 and 2) with the MiniLM tokenizer's special ids."""
    from transformers import ModernBertConfig, ModernBertModel

    tok = minilm_tokenizer
    torch.manual_seed(seed)
    cfg = ModernBertConfig(vocab_size=tok.vocab_size, hidden_size=hidden, num_hidden_layers=layers,
                           num_attention_heads=heads, intermediate_size=2 * hidden, max_position_embeddings=positions,
                           local_attention=local, pad_token_id=tok.pad_token_id, cls_token_id=tok.cls_token_id,
                           sep_token_id=tok.sep_token_id, bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id,
                           attn_implementation="eager")
    return ModernBertModel(cfg).eval()


def _pair(minilm_tokenizer, **kw):
    """(eager reference, the same weights switched to the banded implementation)."""
    eager = _modernbert(minilm_tokenizer, **kw)
    banded = copy.deepcopy(eager)
    assert la.enable_local_attention(banded)
    assert la.attention_implementation(banded) == la.IMPLEMENTATION
    assert la.attention_implementation(eager) == "eager"
    return eager, banded


def _batch(lengths, seed=0):
    """Right-padded random ids ([CLS] … [SEP]) and the 2-D mask; None as mask when nothing is padded."""
    g = torch.Generator().manual_seed(seed)
    width = max(lengths)
    ids = torch.zeros(len(lengths), width, dtype=torch.long)
    mask = torch.zeros(len(lengths), width, dtype=torch.long)
    for i, n in enumerate(lengths):
        ids[i, :n] = torch.randint(1000, 20000, (n,), generator=g)
        ids[i, 0], ids[i, n - 1] = 101, 102
        mask[i, :n] = 1
    return ids, (None if bool(mask.all()) else mask), mask.bool()


def _forward(model, ids, mask, dtype=None):
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bf16"):
        return model(input_ids=ids, attention_mask=mask).last_hidden_state.float()


def _min_cos(a, b):
    return F.cosine_similarity(a.double(), b.double(), dim=-1).min().item()


def _agreement(ref, out, real):
    """Worst cosine over real tokens, and over the mean- and CLS-pooled vectors."""
    w = real.unsqueeze(-1).double()
    mean_ref, mean_out = (ref * w).sum(1) / w.sum(1), (out * w).sum(1) / w.sum(1)
    return min(_min_cos(ref[real], out[real]), _min_cos(mean_ref, mean_out), _min_cos(ref[:, 0], out[:, 0]))


@pytest.mark.parametrize("lengths", [
    [5, 9],                 # below the window (±8): the window covers everything
    [9, 17],                # at the window: |i − j| ≤ 8 vs the whole sequence
    [200, 200],             # far above, unpadded, not a multiple of the block
    [300, 257, 20, 129],    # far above, right-padded, one row inside a single window
])
@pytest.mark.parametrize("path", ["banded", "dense_band"])
def test_local_layers_equal_eager_fp32(minilm_tokenizer, monkeypatch, lengths, path):
    monkeypatch.setattr(la, "DENSE_MAX", 0 if path == "banded" else 10_000)
    eager, banded = _pair(minilm_tokenizer)
    ids, mask, real = _batch(lengths)
    la.CALLS.clear()
    out = _forward(banded, ids, mask)
    ref = _forward(eager, ids, mask)
    assert not torch.isnan(out).any()
    assert _agreement(ref, out, real) > 0.9999
    assert torch.allclose(ref[real], out[real], atol=1e-4)
    if max(lengths) - 1 > 8:   # the two local layers ran windowed, the global one full
        assert la.CALLS == {path: 2, "full": 1}


def test_padding_does_not_change_real_tokens(minilm_tokenizer, monkeypatch):
    monkeypatch.setattr(la, "DENSE_MAX", 0)
    _, banded = _pair(minilm_tokenizer)
    ids, mask, real = _batch([150, 61])
    both = _forward(banded, ids, mask)
    alone = _forward(banded, ids[1:, :61], None)
    assert torch.allclose(both[1, :61], alone[0], atol=1e-5)


@pytest.mark.parametrize("dense_max", [0, 10_000])
def test_bf16_autocast_close_to_eager(minilm_tokenizer, monkeypatch, dense_max):
    monkeypatch.setattr(la, "DENSE_MAX", dense_max)
    eager, banded = _pair(minilm_tokenizer, hidden=64, heads=4)
    ids, mask, real = _batch([400, 333, 70])
    ref32 = _forward(eager, ids, mask)
    ref16 = _forward(eager, ids, mask, "bf16")
    out16 = _forward(banded, ids, mask, "bf16")
    assert out16.dtype == torch.float32 and not torch.isnan(out16).any()
    assert _agreement(ref16, out16, real) > 0.999    # same precision: only summation order differs
    assert _agreement(ref32, out16, real) > 0.99     # bf16 against the fp32 reference


def test_8k_equals_eager_and_stays_banded(minilm_tokenizer, monkeypatch):
    """8,192 tokens, ModernBERT's real window (±64): equal to eager; every local sdpa problem is a block of
    queries against block + 128 keys (a fallback to full attention would show L×L problems)."""
    eager, banded = _pair(minilm_tokenizer, hidden=16, heads=1, local=128, positions=8192)
    ids, mask, real = _batch([8192])
    shapes = []
    sdpa = F.scaled_dot_product_attention

    def spy(q, k, v, *a, **kw):
        shapes.append((q.shape[-2], k.shape[-2]))
        return sdpa(q, k, v, *a, **kw)

    monkeypatch.setattr(F, "scaled_dot_product_attention", spy)
    out = _forward(banded, ids, mask)
    monkeypatch.undo()
    assert sorted(shapes) == sorted([(8192, 8192), (la.BLOCK, la.BLOCK + 128), (la.BLOCK, la.BLOCK + 128)])
    ref = _forward(eager, ids, mask)
    assert _agreement(ref, out, real) > 0.9999


def test_padded_long_batch_equals_eager(minilm_tokenizer):
    eager, banded = _pair(minilm_tokenizer, local=128, positions=4096)
    ids, mask, real = _batch([1200, 700, 140])
    assert _agreement(_forward(eager, ids, mask), _forward(banded, ids, mask), real) > 0.9999


def test_kernel_against_dense_band_mask():
    """banded_attention alone against sdpa with an explicit L×L band-and-padding mask."""
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(2, 3, 301, 8, generator=g) for _ in range(3))
    pad = torch.ones(2, 301, dtype=torch.bool)
    pad[1, 190:] = False
    i = torch.arange(301)
    allowed = ((i[:, None] - i[None, :]).abs() <= 20) & pad[:, None, None, :]
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed).transpose(1, 2)
    for block in (7, 32, 128, 512):
        out = la.banded_attention(q, k, v, pad, 20, block=block)
        assert torch.allclose(out[0], ref[0], atol=1e-5)
        assert torch.allclose(out[1, :190], ref[1, :190], atol=1e-5)
        assert torch.isfinite(out).all()


def test_bert_is_left_alone(tiny_bert):
    loaded = load_model(tiny_bert, progress=False)
    assert la.enable_local_attention(loaded.model) is False
    assert loaded.attention == "sdpa" == la.attention_implementation(loaded.model)


def test_modernbert_without_local_layers_is_left_alone(minilm_tokenizer):
    from transformers import ModernBertConfig, ModernBertModel

    cfg = ModernBertConfig(vocab_size=minilm_tokenizer.vocab_size, hidden_size=16, num_hidden_layers=2,
                           num_attention_heads=1, intermediate_size=32, global_attn_every_n_layers=1,
                           pad_token_id=0, cls_token_id=101, sep_token_id=102, bos_token_id=101, eos_token_id=102)
    model = ModernBertModel(cfg)
    assert la.enable_local_attention(model) is False
    assert la.attention_implementation(model) == "sdpa"


def test_load_model_picks_banded_for_modernbert(tiny_modernbert, minilm_tokenizer, monkeypatch):
    """load_model switches ModernBERT by default and records it; the vectors equal the eager load's through
    the encoder (texts longer than the ±64 window, padded batches)."""
    from lmkbench.encoder import PooledEncoder

    default = load_model(tiny_modernbert, progress=False)
    assert default.attention == la.IMPLEMENTATION
    assert load_model(tiny_modernbert, progress=False, local_attention=False).attention == "sdpa"
    eager = load_model(tiny_modernbert, progress=False, attn_implementation="eager")
    assert eager.attention == "eager"
    texts = [" ".join(f"word{i} alpha beta" for i in range(n)) for n in (5, 30, 60, 90)]
    kw = dict(cache_dir=False, progress=False, max_length=128, token_budget=512)
    monkeypatch.setattr(la, "DENSE_MAX", 0)   # the tiny model's 128 positions: force the blocked kernel
    la.CALLS.clear()
    a = PooledEncoder(default, **kw).encode(texts, ["mean", "cls", "lmk:g=8"])
    assert la.CALLS["banded"] > 0
    b = PooledEncoder(eager, **kw).encode(texts, ["mean", "cls", "lmk:g=8"])
    for spec in a.embeddings:
        assert np.min(np.sum(a.embeddings[spec] * b.embeddings[spec], axis=1)) > 0.9999
