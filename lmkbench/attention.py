"""Sliding-window (local) attention at O(L·w) cost for encoders that alternate local and global layers.

transformers runs ModernBERT's local layers (each token sees the tokens within ±``config.sliding_window``,
64 for ModernBERT's ``local_attention=128``) through sdpa/eager as *full* L×L attention under a band mask:
at 8,192 tokens the local layers pay the quadratic cost and memory of the global ones. This module registers
one more implementation in transformers' attention interface, :data:`IMPLEMENTATION`:

* local layers (the attention function receives ``sliding_window``) run **blocked**: queries are cut into
  blocks of ``block`` tokens and each block attends only the keys ``[start − h, end + h)`` (h = half window)
  through one batched ``scaled_dot_product_attention`` call with a small band mask, so time and memory grow
  like L·(block + 2h);
* up to :data:`DENSE_MAX` tokens local layers run one sdpa call with a dense band mask (cheaper on CPU at
  these sizes than many small blocks);
* global layers run sdpa as before, with the key padding mask broadcast over queries (no L×L mask).

The paired mask function hands both kinds of layer the 2-D key padding mask (or ``None`` when nothing is
padded) instead of a materialised 4-D mask. The result equals the eager forward on every real token: each
real query attends exactly the real keys within the window. Padded query rows (whose outputs nobody reads)
attend their whole window so that no row is empty and nothing becomes NaN.

    from lmkbench.attention import enable_local_attention, attention_implementation
    enable_local_attention(model)      # True for ModernBERT-like models; others are left alone
    attention_implementation(model)    # "lmkbench_banded" or the model's own ("sdpa", "eager", ...)
"""
from __future__ import annotations

import math
import warnings
from collections import Counter

import torch
import torch.nn.functional as F

#: the name registered in transformers' AttentionInterface and AttentionMaskInterface
IMPLEMENTATION = "lmkbench_banded"
#: query block size of the banded kernel: keys per block = BLOCK + 2·h (256 for ModernBERT's h = 64)
BLOCK = 128
#: up to this length local layers run one sdpa call with a dense L×L band mask instead: on CPU the small
#: blocked problems cost more per FLOP than one larger problem, and at 512 tokens (bf16) dense is ~2× faster
DENSE_MAX = 512
#: architectures whose local layers are bidirectional and whose mask is |q − k| ≤ config.sliding_window
SUPPORTED_MODEL_TYPES = ("modernbert",)
#: how often each path ran since the last reset ("banded", "dense_band", "full", "delegated"): tests check local layers
#: really take the banded path and never silently fall back to full attention
CALLS: Counter = Counter()

_registered = False


def _key_padding_mask(batch_size: int, q_length: int, kv_length: int, q_offset: int = 0, kv_offset: int = 0,
                      attention_mask: torch.Tensor | None = None, **kwargs) -> torch.Tensor | None:
    """Mask function for :data:`IMPLEMENTATION`: the boolean (batch, kv_length) key padding mask, or ``None``
    when nothing is padded. Window and layer type are applied in the attention function itself."""
    if attention_mask is None:
        return None
    mask = attention_mask.to(torch.bool)
    if mask.shape[-1] < kv_length + kv_offset:
        mask = F.pad(mask, (0, kv_length + kv_offset - mask.shape[-1]))
    mask = mask[:, kv_offset:kv_offset + kv_length]
    return None if bool(mask.all()) else mask


def banded_attention_forward(module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                             attention_mask: torch.Tensor | None, dropout: float = 0.0,
                             scaling: float | None = None, sliding_window: int | None = None,
                             **kwargs) -> tuple[torch.Tensor, None]:
    """transformers attention function: (batch, heads, L, head_dim) tensors in, (batch, L, heads, head_dim) out.

    ``sliding_window`` follows transformers' flash-attention convention (a query sees ``sliding_window − 1``
    keys on each side); ``None`` marks a global layer. ``attention_mask`` is the 2-D key padding mask from
    :func:`_key_padding_mask`; a caller's own 4-D mask is handed to transformers' sdpa function unchanged.
    """
    if getattr(module, "is_causal", False) or kwargs.get("is_causal"):
        raise ValueError(f"{IMPLEMENTATION} implements bidirectional attention only")
    if attention_mask is not None and attention_mask.dim() != 2:
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        CALLS["delegated"] += 1
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      **kwargs)
    groups = getattr(module, "num_key_value_groups", 1)
    if groups > 1:
        key = key.repeat_interleave(groups, dim=1)
        value = value.repeat_interleave(groups, dim=1)
    length = query.shape[2]
    half = None if sliding_window is None else sliding_window - 1
    if half is None or length - 1 <= half:   # global layer, or the window covers the whole sequence
        CALLS["full"] += 1
        mask = None if attention_mask is None else attention_mask[:, None, None, :]
        out = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=dropout, scale=scaling)
        return out.transpose(1, 2).contiguous(), None
    if length <= DENSE_MAX:
        CALLS["dense_band"] += 1
        idx = torch.arange(length, device=query.device)
        mask = ((idx[:, None] - idx[None, :]).abs() <= half)[None, None]
        if attention_mask is not None:   # padded queries see their whole window: no empty row
            mask = mask & (attention_mask[:, None, None, :] | ~attention_mask[:, None, :, None])
        out = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=dropout, scale=scaling)
        return out.transpose(1, 2).contiguous(), None
    CALLS["banded"] += 1
    return banded_attention(query, key, value, attention_mask, half, block=BLOCK, dropout=dropout,
                            scaling=scaling), None


def banded_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, key_padding: torch.Tensor | None,
                     half: int, *, block: int = BLOCK, dropout: float = 0.0,
                     scaling: float | None = None) -> torch.Tensor:
    """Bidirectional sliding-window attention, query i attending keys j with |i − j| ≤ ``half``.

    query/key/value: (batch, heads, L, head_dim); key_padding: (batch, L) bool, True = real token, or None.
    Returns (batch, L, heads, head_dim). Each block of ``block`` queries attends a slice of ``block + 2·half``
    keys; all blocks of all sequences go through sdpa as one batch with a band mask. The blocks are strided
    views of one row buffer per tensor (sequences end to end, each padded to whole blocks, ``half`` zero rows
    at both ends), so the overlapping key windows are never copied.
    """
    bsz, heads, length, dim = query.shape
    nblocks = math.ceil(length / block)
    lq = nblocks * block
    span = block + 2 * half
    rows = bsz * nblocks
    device = query.device

    def flat(x: torch.Tensor, halo: int) -> torch.Tensor:
        """(batch, heads, L, dim) → (halo + batch·lq + halo, heads, dim) rows; sequence b, token t at row
        halo + b·lq + t. Padding rows are zero: a masked key's value must still be finite."""
        x = x.transpose(1, 2)                                   # (batch, L, heads, dim): a view
        if halo == 0 and lq == length and x.is_contiguous():
            return x.reshape(bsz * lq, heads, dim)
        buf = x.new_empty(2 * halo + bsz * lq, heads, dim)
        buf[:halo].zero_()
        buf[halo + bsz * lq:].zero_()
        body = buf[halo:halo + bsz * lq].view(bsz, lq, heads, dim)
        body[:, :length] = x
        body[:, length:].zero_()
        return buf

    strides = (block * heads * dim, dim, heads * dim, 1)       # block, head, token, channel
    qb = flat(query, 0).as_strided((rows, heads, block, dim), strides)
    kb = flat(key, half).as_strided((rows, heads, span, dim), strides)
    vb = flat(value, half).as_strided((rows, heads, span, dim), strides)

    # which flat key rows are real tokens of which sequence (-1: padding, halo, block tail)
    real = (torch.ones(bsz, length, dtype=torch.bool, device=device) if key_padding is None
            else key_padding.to(device=device, dtype=torch.bool))
    owner = torch.full((2 * half + bsz * lq,), -1, dtype=torch.int32, device=device)
    seq = torch.arange(bsz, dtype=torch.int32, device=device)[:, None].expand(bsz, length)
    owner[half:half + bsz * lq].view(bsz, lq)[:, :length] = torch.where(real, seq, -1)
    key_ok = owner.unfold(0, span, block) == torch.arange(rows, device=device, dtype=torch.int32)[:, None] // nblocks
    query_real = F.pad(real, (0, lq - length)).view(rows, block)
    offset = torch.arange(span, device=device)[None, :] - torch.arange(block, device=device)[:, None]
    band = (offset >= 0) & (offset <= 2 * half)                                        # (block, span)
    # a real query sees the real keys of its own sequence in its window; a padded one its whole window
    mask = (band & (key_ok[:, None, :] | ~query_real[:, :, None])).unsqueeze(1)       # (rows, 1, block, span)

    out = F.scaled_dot_product_attention(qb, kb, vb, attn_mask=mask, dropout_p=dropout, scale=scaling)
    out = out.transpose(1, 2).reshape(bsz, lq, heads, dim)
    return out if lq == length else out[:, :length]


def register() -> None:
    """Register :data:`IMPLEMENTATION` with transformers (idempotent)."""
    global _registered
    if _registered:
        return
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    AttentionInterface.register(IMPLEMENTATION, banded_attention_forward)
    AttentionMaskInterface.register(IMPLEMENTATION, _key_padding_mask)
    _registered = True


def local_attention_layers(model) -> list[int]:
    """Indices of the layers with bidirectional sliding-window attention this module can run (else [])."""
    cfg = getattr(model, "config", None)
    if cfg is None or getattr(cfg, "model_type", None) not in SUPPORTED_MODEL_TYPES:
        return []
    layer_types = list(getattr(cfg, "layer_types", None) or [])
    return [i for i, t in enumerate(layer_types) if t == "sliding_attention"]


def enable_local_attention(model) -> bool:
    """Switch a model with local attention layers to :data:`IMPLEMENTATION`; True when switched.

    Models without such layers (BERT, MiniLM, a ModernBERT configured all-global) are left alone, as is a
    model whose attention modules do not carry the window the mask path uses (a transformers version whose
    conventions differ: a warning says so, and sdpa stays, correct but quadratic)."""
    if not local_attention_layers(model):
        return False
    window = model.config.sliding_window
    windows = {getattr(m, "sliding_window") for m in model.modules()
               if hasattr(m, "sliding_window") and hasattr(m, "is_causal")}
    if getattr(model, "_supports_attention_backend", False) is not True or windows != {None, window + 1} \
            or any(getattr(m, "is_causal", False) for m in model.modules() if hasattr(m, "sliding_window")):
        warnings.warn(f"{type(model).__name__}: local attention layers found but their attention modules do not "
                      f"match what {IMPLEMENTATION} expects (sliding_window {sorted(map(str, windows))}, config "
                      f"{window}); keeping {model.config._attn_implementation}", RuntimeWarning, stacklevel=2)
        return False
    register()
    model.set_attn_implementation(IMPLEMENTATION)
    return attention_implementation(model) == IMPLEMENTATION


def attention_implementation(model) -> str:
    """The attention implementation a model runs (for result meta): "lmkbench_banded", "sdpa", "eager", ..."""
    cfg = getattr(model, "config", None)
    return str(getattr(cfg, "_attn_implementation", None) or "unknown")
