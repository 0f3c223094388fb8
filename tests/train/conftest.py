"""Fixtures for the training tests: a toy pairs file where each query shares a rare topic with its positive."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

TOPICS = ["solar power", "football match", "bread baking", "stock market", "mountain hiking", "violin concert",
          "python programming", "rainforest animals", "coffee brewing", "chess opening", "ocean tides", "jazz music"]


@pytest.fixture()
def toy_pairs(tmp_path) -> Path:
    path = tmp_path / "pairs.jsonl"
    with open(path, "w") as fh:
        for t in TOPICS:
            fh.write(json.dumps({"query": f"tell me about {t}", "positive": f"{t} " * 6 + "is described here.",
                                 "negatives": [f"an unrelated note on {TOPICS[(TOPICS.index(t) + 3) % len(TOPICS)]}"]})
                     + "\n")
    return path


@pytest.fixture()
def tiny_cfg(tiny_bert, toy_pairs, tmp_path):
    """A TrainConfig factory for quick CPU runs of the tiny random BERT."""
    from lmkbench.train import TrainConfig

    def make(**kw):
        base = dict(model=tiny_bert, pooling="mean", data=str(toy_pairs), out=tmp_path / "out", steps=4,
                    batch_size=4, lr=1e-3, query_max_length=32, doc_max_length=48, progress=False, device="cpu")
        base.update(kw)
        return TrainConfig(**base)

    return make


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tiny models on a shared 2-core machine: one intra-op thread is ~50x faster than two that spin-wait."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
