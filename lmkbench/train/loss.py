"""The contrastive objective: InfoNCE over in-batch and hard negatives, plus optional teacher KL.

For a batch of B queries the candidate documents are the B positives followed by every example's hard
negatives; query i's target is its own positive. Candidates that are known positives of query i (another
relevant document of the same BEIR query, or the same text appearing twice in the batch) are masked out,
so a true positive is never pushed away as a negative. Logits are cosine similarities / temperature.

Teacher scores (``scores`` in the data, one per ``[positive, *negatives]``) add
``kl_weight · KL(softmax(scores) ‖ softmax(student logits over the same candidates))``, averaged over the
examples that have scores. Scores are read as logits (no teacher temperature).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .data import TrainExample


@dataclass
class Candidates:
    """The documents of one batch and, per query, where its own candidates sit among them."""

    texts: list[str]
    targets: list[int]                 # index of each query's positive
    own: list[list[int]]               # [positive index, *own negative indices] per query
    exclude: list[list[int]]           # indices masked for each query (known positives other than its target)


def build_candidates(batch: list[TrainExample]) -> Candidates:
    texts = [ex.positive for ex in batch]
    own = [[i] for i in range(len(batch))]
    for i, ex in enumerate(batch):
        for neg in ex.negatives:
            own[i].append(len(texts))
            texts.append(neg)
    exclude = []
    for i, ex in enumerate(batch):
        known = ex.other_positives | {ex.positive}
        exclude.append([j for j, t in enumerate(texts) if j != i and t in known])
    return Candidates(texts, list(range(len(batch))), own, exclude)


def contrastive_loss(q: torch.Tensor, d: torch.Tensor, cand: Candidates, batch: list[TrainExample], *,
                     temperature: float, kl_weight: float = 1.0) -> tuple[torch.Tensor, dict[str, float]]:
    logits = (q @ d.T) / temperature
    mask = torch.zeros_like(logits, dtype=torch.bool)
    for i, cols in enumerate(cand.exclude):
        if cols:
            mask[i, cols] = True
    logits = logits.masked_fill(mask, float("-inf"))
    targets = torch.tensor(cand.targets, device=logits.device)
    ce = F.cross_entropy(logits, targets)
    parts = {"infonce": float(ce.detach())}
    rows = [i for i, ex in enumerate(batch) if ex.scores is not None and len(ex.scores) > 1]
    if not rows or kl_weight == 0:
        return ce, parts
    kls = []
    for i in rows:
        keep = [k for k, j in enumerate(cand.own[i]) if j not in cand.exclude[i]]  # a negative equal to a positive
        idx = torch.tensor([cand.own[i][k] for k in keep], device=logits.device)
        student = F.log_softmax(logits[i, idx], dim=-1)
        scores = torch.tensor([batch[i].scores[k] for k in keep], dtype=student.dtype, device=logits.device)
        teacher = F.softmax(scores, dim=-1)
        kls.append(F.kl_div(student, teacher, reduction="sum"))
    kl = torch.stack(kls).mean()
    parts["kl"] = float(kl.detach())
    return ce + kl_weight * kl, parts
