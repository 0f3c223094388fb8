"""Shared fixtures: tiny random BERT / ModernBERT models (no download), the offline MiniLM, shared data."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from _support import REPO, SHARED_DATA, minilm_path, shared_data  # noqa: F401,E402


@pytest.fixture(scope="session")
def minilm_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm_path())


def _save_tiny(model, tokenizer, folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory, minilm_tokenizer) -> str:
    """A 2-layer random BERT (hidden 32) with the MiniLM tokenizer, saved as a HF folder; max length 128."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=minilm_tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=128)
    return _save_tiny(BertModel(cfg).eval(), minilm_tokenizer, tmp_path_factory.mktemp("tiny_bert"))


@pytest.fixture(scope="session")
def tiny_modernbert(tmp_path_factory, minilm_tokenizer) -> str:
    """A 2-layer random ModernBERT paired with the MiniLM tokenizer (special ids set to match it)."""
    import torch
    from transformers import ModernBertConfig, ModernBertModel

    torch.manual_seed(0)
    tok = minilm_tokenizer
    cfg = ModernBertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=128, pad_token_id=tok.pad_token_id,
                           cls_token_id=tok.cls_token_id, sep_token_id=tok.sep_token_id,
                           bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id)
    return _save_tiny(ModernBertModel(cfg).eval(), tok, tmp_path_factory.mktemp("tiny_modernbert"))


@pytest.fixture()
def tiny_beir(tmp_path) -> Path:
    """A small BEIR folder with a long document, an empty document and a literal [SEP] in text."""
    import json

    folder = tmp_path / "tinybeir"
    (folder / "qrels").mkdir(parents=True)
    topics = ["solar power panels", "football match result", "bread baking recipe", "stock market crash",
              "mountain hiking trail", "violin concert review", "python programming tips", "rainforest animals"]
    docs = []
    for i, t in enumerate(topics):
        body = (f"This document is about {t}. " * (3 + 9 * (i % 3)))
        docs.append({"_id": f"d{i}", "title": t.title(), "text": body})
    docs.append({"_id": "empty", "title": "", "text": ""})
    docs.append({"_id": "sep", "title": "Odd", "text": "a literal [SEP] token in text and [CLS] too"})
    with open(folder / "corpus.jsonl", "w") as fh:
        for d in docs:
            fh.write(json.dumps(d) + "\n")
    with open(folder / "queries.jsonl", "w") as fh:
        for i, t in enumerate(topics):
            fh.write(json.dumps({"_id": f"q{i}", "text": f"what about {t}?"}) + "\n")
        fh.write(json.dumps({"_id": "qx", "text": "unjudged query"}) + "\n")
    with open(folder / "qrels" / "test.tsv", "w") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        for i in range(len(topics)):
            fh.write(f"q{i}\td{i}\t1\n")
        fh.write("q0\td1\t2\n")
    return folder
