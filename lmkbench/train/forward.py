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
"""
from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

from ..inputs import Content, Family, SpecialTokens, token_sentence_spans
from ..poolings import Pooling


class PooledForward:
    def __init__(self, model, tokenizer, pooling: Pooling, *, device: str = "cpu", autocast_dtype=None):
        self.model, self.tokenizer, self.pooling = model, tokenizer, pooling
        self.device = device
        self.autocast_dtype = autocast_dtype
        self.special = SpecialTokens.from_tokenizer(tokenizer)

    def tokenize(self, texts: list[str], sentences: bool = False) -> list[Content]:
        """Content tokens, as :meth:`lmkbench.encoder.PooledEncoder.tokenize` makes them."""
        stripped = [t.strip() for t in texts]
        enc = self.tokenizer(stripped, add_special_tokens=False, split_special_tokens=True,
                             return_attention_mask=False, return_token_type_ids=False,
                             return_offsets_mapping=sentences, truncation=False, verbose=False)
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
        contents = self.tokenize(texts, sentences=sentences)
        ids, attn, marks = self.batch_tensors(contents, families, max_length)
        ctx = (torch.autocast(device_type="cuda", dtype=self.autocast_dtype)
               if self.autocast_dtype is not None and str(self.device).startswith("cuda") else contextlib.nullcontext())
        with ctx:
            hidden = self.model(input_ids=ids, attention_mask=attn.long()).last_hidden_state
        hidden = hidden.float()
        w = self.pooling.weights(attn, marks)
        total = w.sum(1, keepdim=True)
        if self.pooling.falls_back_to_mean:
            mean_w = attn.float()
            empty = total <= 0
            w = torch.where(empty, mean_w, w)
            total = torch.where(empty, mean_w.sum(1, keepdim=True), total)
        pooled = torch.einsum("bt,btd->bd", w, hidden) / total.clamp_min(1e-12)
        return F.normalize(pooled, dim=-1)
