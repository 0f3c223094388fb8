"""The differentiable pooled forward equals the inference encoder; the loss equals an independent computation."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import log_softmax, softmax

from lmkbench.encoder import PooledEncoder
from lmkbench.models import load_model
from lmkbench.poolings import make_pooling
from lmkbench.train.data import TrainExample
from lmkbench.train.forward import PooledForward
from lmkbench.train.loss import build_candidates, contrastive_loss

TEXTS = ["a short query", "", "a literal [SEP] stays text [CLS]", "word " * 300, "two sentences. Here is the second!"]


@pytest.mark.parametrize("pooling", ["cls", "mean", "lmk:g=8", "lmk:g=32", "multicls:g=16", "lmk:split=sentence"])
def test_training_forward_matches_the_inference_encoder(tiny_bert, pooling):
    enc = PooledEncoder(tiny_bert, device="cpu", max_length=64, cache_dir=False, progress=False)
    want = enc.encode(TEXTS, [pooling]).embeddings[str(make_pooling(pooling).spec)]
    loaded = load_model(tiny_bert)
    p = make_pooling(pooling)
    fwd = PooledForward(loaded.model, loaded.tokenizer, p)
    with torch.no_grad():
        got = fwd.embed(TEXTS, [p.family()] * len(TEXTS), 64).numpy()
    np.testing.assert_allclose(got, want, atol=2e-5)


def test_forward_is_differentiable(tiny_bert):
    loaded = load_model(tiny_bert)
    p = make_pooling("lmk:g=4")
    fwd = PooledForward(loaded.model, loaded.tokenizer, p)
    out = fwd.embed(["some words to pool here and there"], [p.family()], 32)
    out.sum().backward()
    assert loaded.model.embeddings.word_embeddings.weight.grad is not None


def _numpy_loss(q, d, targets, exclude, temperature):
    logits = q @ d.T / temperature
    for i, cols in enumerate(exclude):
        logits[i, cols] = -np.inf
    return float(-np.mean([log_softmax(logits[i])[t] for i, t in enumerate(targets)])), logits


def test_infonce_with_hard_negatives_and_masked_duplicate_positive():
    batch = [TrainExample("q0", "doc A", ["neg 0"], other_positives=frozenset({"doc A", "doc B"})),
             TrainExample("q1", "doc B", [], other_positives=frozenset({"doc B"})),
             TrainExample("q2", "doc A", ["neg 2a", "doc B"], other_positives=frozenset({"doc A"}))]
    cand = build_candidates(batch)
    assert cand.texts == ["doc A", "doc B", "doc A", "neg 0", "neg 2a", "doc B"]
    assert cand.own == [[0, 3], [1], [2, 4, 5]]
    assert cand.exclude == [[1, 2, 5], [5], [0]]       # known positives of each query, except its target
    g = torch.Generator().manual_seed(0)
    q = torch.nn.functional.normalize(torch.randn(3, 8, generator=g), dim=-1)
    d = torch.nn.functional.normalize(torch.randn(6, 8, generator=g), dim=-1)
    loss, parts = contrastive_loss(q, d, cand, batch, temperature=0.05)
    want, _ = _numpy_loss(q.numpy().astype(np.float64), d.numpy().astype(np.float64), cand.targets, cand.exclude, 0.05)
    assert loss.item() == pytest.approx(want, rel=1e-5) and "kl" not in parts


def test_teacher_kl_term():
    batch = [TrainExample("q0", "p0", ["n0", "n1"], scores=[5.0, 1.0, 0.0]),
             TrainExample("q1", "p1", ["n2"], scores=None)]
    cand = build_candidates(batch)
    g = torch.Generator().manual_seed(1)
    q = torch.nn.functional.normalize(torch.randn(2, 4, generator=g), dim=-1)
    d = torch.nn.functional.normalize(torch.randn(5, 4, generator=g), dim=-1)
    loss, parts = contrastive_loss(q, d, cand, batch, temperature=0.1, kl_weight=0.5)
    ce, logits = _numpy_loss(q.numpy().astype(np.float64), d.numpy().astype(np.float64), cand.targets, cand.exclude, 0.1)
    teacher = softmax([5.0, 1.0, 0.0])
    student = log_softmax(logits[0, cand.own[0]])
    kl = float(np.sum(teacher * (np.log(teacher) - student)))
    assert parts["kl"] == pytest.approx(kl, rel=1e-4)
    assert loss.item() == pytest.approx(ce + 0.5 * kl, rel=1e-4)
