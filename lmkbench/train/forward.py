"""A differentiable pooled forward pass, built from the same pieces as the inference encoder.

:class:`lmkbench.encoder.PooledEncoder` runs under ``torch.inference_mode`` and caches, so it cannot train.
This module reuses its definitions instead of restating them: content tokens are produced exactly as the
encoder produces them (no special tokens, literal ``"[SEP]"`` kept as text), model sequences come from the
input families of :mod:`lmkbench.inputs` (``LandmarkFamily(g)`` etc. with ``SpecialTokens.from_tokenizer``),
and positions are weighted by the registered pooling's :meth:`~lmkbench.poolings.Pooling.weights`, with the
same fall-back to the masked mean when a text has no weight (no landmark survived truncation). A model
trained here is therefore evaluated with exactly the pooling it was trained with.

Training always uses the ``truncate`` policy (one sequence per text). With a variable landmark interval
each text gets its own family, drawn by :class:`~lmkbench.train.spec.TrainPooling`.

Precision: the model runs under :func:`lmkbench.encoder.autocast_for` (bf16 autocast on CPU and CUDA, fp16 on
CUDA, nothing for fp32), the context inference uses, so a "bf16" run computes its matrix products in bf16 on
a CPU too; pooling, normalisation and the loss stay in fp32.

Tokenisation stops at the sequence length: a text's content tokens past ``max_length`` can never reach the
model (every family frames at least one token), so they are not produced (long documents otherwise cost
more tokenizer time than the model does at short training lengths).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..devices import autocast_for, device_kind
from ..inputs import Content, Family, SpecialTokens, token_sentence_spans
from ..poolings import Pooling


class PooledForward:
    def __init__(self, model, tokenizer, pooling: Pooling, *, device: str = "cpu", dtype: str = "fp32"):
        """``dtype``: "fp32", "bf16" or "fp16", already resolved (:func:`lmkbench.encoder.resolve_dtype`)."""
        from ..encoder import DTYPES

        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        self.model, self.tokenizer, self.pooling = model, tokenizer, pooling
        self.device, self.dtype = device, dtype
        self.special = SpecialTokens.from_tokenizer(tokenizer)
        self.timer = None   # a trainer.PhaseTimer while a step is profiled: laps tokenize / tensors / forward

    def tokenize(self, texts: list[str], sentences: bool = False, max_tokens: int | None = None) -> list[Content]:
        """Content tokens, as :meth:`lmkbench.encoder.PooledEncoder.tokenize` makes them; at most
        ``max_tokens`` per text when given (the tail that truncation would drop is never tokenised)."""
        stripped = [t.strip() for t in texts]
        cut = {"truncation": True, "max_length": max_tokens} if max_tokens else {"truncation": False}
        enc = self.tokenizer(stripped, add_special_tokens=False, split_special_tokens=True,
                             return_attention_mask=False, return_token_type_ids=False,
                             return_offsets_mapping=sentences, verbose=False, **cut)
        out = []
        for j, ids in enumerate(enc["input_ids"]):
            spans = token_sentence_spans(stripped[j], enc["offset_mapping"][j]) if sentences else None
            out.append(Content(list(ids), spans))
        return out

    def batch_tensors(self, contents: list[Content], families: list[Family], max_length: int):
        """Pad the family-built sequences: ``input_ids``, ``attention_mask`` and ``marks`` tensors."""
        seqs = [fam.build(c, self.special, max_length, "truncate")[0][0] for c, fam in zip(contents, families)]
        width = max(len(s.ids) for s in seqs)
        ids = torch.full((len(seqs), width), self.special.pad, dtype=torch.long)
        attn = torch.zeros((len(seqs), width), dtype=torch.bool)
        marks = torch.zeros((len(seqs), width), dtype=torch.bool)
        for r, s in enumerate(seqs):
            ids[r, :len(s.ids)] = torch.tensor(s.ids, dtype=torch.long)
            attn[r, :len(s.ids)] = True
            if s.marks:
                marks[r, torch.tensor(s.marks, dtype=torch.long)] = True
        return ids.to(self.device), attn.to(self.device), marks.to(self.device)

    def embed(self, texts: list[str], families: list[Family], max_length: int) -> torch.Tensor:
        """L2-normalised pooled embeddings ``[n, hidden]`` (float32), differentiable w.r.t. the model."""
        sentences = any(f.needs_sentences for f in families)
        from ..encoder import autocast_for

        lap = self.timer.lap if self.timer is not None else (lambda _phase: None)
        lap("data")
        contents = self.tokenize(texts, sentences=sentences, max_tokens=max_length)
        lap("tokenize")
        ids, attn, marks = self.batch_tensors(contents, families, max_length)
        lap("tensors")
        with autocast_for(str(self.device), self.dtype):
            hidden = self.model(input_ids=ids, attention_mask=attn.long()).last_hidden_state
        lap("forward")
        with torch.autocast(device_kind(str(self.device)), enabled=False):   # pooled in fp32 inside a caller's region
            hidden = hidden.float()
            w = self.pooling.weights(attn, marks)
            total = w.sum(1, keepdim=True)
            if self.pooling.falls_back_to_mean:
                mean_w = attn.float()
                empty = total <= 0
                w = torch.where(empty, mean_w, w)
                total = torch.where(empty, mean_w.sum(1, keepdim=True), total)
            pooled = torch.einsum("bt,btd->bd", w, hidden) / total.clamp_min(1e-12)
            out = F.normalize(pooled, dim=-1)
        lap("pool")
        return out

    def precision(self):
        """The autocast region of this forward's dtype. Around several :meth:`embed` calls (a step's queries and
        documents) it casts the weights to bf16 once instead of once per call (autocast caches the casts of
        leaf tensors until its outermost region exits); pooling stays fp32 either way."""
        return autocast_for(str(self.device), self.dtype)
