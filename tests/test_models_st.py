"""sentence-transformers checkpoints as they are: trained pooling, max_seq_length, prompts (lmkbench.models)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from _support import minilm_path
from lmkbench.errors import LmkbenchError
from lmkbench.models import load_model, read_sentence_transformers_config


def st_folder(tmp_path: Path, pooling: dict, *, max_seq_length=None, prompts=None, pool_dir="1_Pooling") -> Path:
    folder = tmp_path / "ckpt"
    (folder / pool_dir).mkdir(parents=True)
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": pool_dir, "type": "sentence_transformers.models.Pooling"}]))
    (folder / pool_dir / "config.json").write_text(json.dumps({"word_embedding_dimension": 32, **pooling}))
    if max_seq_length is not None:
        (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": max_seq_length}))
    if prompts is not None:
        (folder / "config_sentence_transformers.json").write_text(json.dumps({"prompts": prompts}))
    return folder


def test_packaged_minilm_declares_mean_and_256():
    cfg = read_sentence_transformers_config(minilm_path())
    assert cfg.pooling == "mean" and cfg.st_pooling_modes == ("mean",)
    assert cfg.pooling_source == "1_Pooling/config.json (pooling_mode_mean_tokens)"
    assert cfg.max_seq_length == 256 and cfg.prompts == {}


@pytest.mark.parametrize("pooling, expected", [
    ({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}, "cls"),
    ({"pooling_mode_lasttoken": True}, "last"),
    ({"pooling_mode": "mean"}, "mean"),                     # sentence-transformers >= 6 writes one key
    ({"pooling_mode": "lasttoken"}, "last"),
    ({"pooling_mode_max_tokens": True}, None),              # no lmkbench counterpart: not guessed
    ({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": True}, None),   # concatenation
])
def test_pooling_modes(tmp_path, pooling, expected):
    assert read_sentence_transformers_config(st_folder(tmp_path, pooling, pool_dir="p")).pooling == expected


def test_prompts_and_bad_files(tmp_path):
    folder = st_folder(tmp_path, {"pooling_mode": "cls"}, max_seq_length=128,
                       prompts={"query": "query: ", "document": "passage: ", "empty": ""})
    cfg = read_sentence_transformers_config(folder)
    assert cfg.prompts == {"query": "query: ", "document": "passage: "} and cfg.max_seq_length == 128
    (folder / "sentence_bert_config.json").write_text('{"max_seq_length": "long"}')
    with pytest.raises(LmkbenchError, match="sentence_bert_config.json: field 'max_seq_length'"):
        read_sentence_transformers_config(folder)
    (folder / "sentence_bert_config.json").write_text('{"max_seq_length": 12,')
    with pytest.raises(LmkbenchError, match=r"sentence_bert_config.json:1: malformed JSON"):
        read_sentence_transformers_config(folder)


def test_load_model_records_defaults_and_lmkbench_json_wins(tmp_path, tiny_bert):
    folder = tmp_path / "m"
    shutil.copytree(tiny_bert, folder)
    plain = load_model(str(folder), progress=False)
    assert plain.trained_pooling is None and plain.prompts == {}
    assert (plain.default_max_length, plain.default_max_length_source) == (128, "model position limit")
    st = st_folder(tmp_path / "st", {"pooling_mode_cls_token": True}, max_seq_length=1000,
                   prompts={"query": "q: "})
    for f in st.rglob("*.json"):
        dest = folder / f.relative_to(st)
        dest.parent.mkdir(exist_ok=True)
        shutil.copy(f, dest)
    m = load_model(str(folder), progress=False)
    assert m.trained_pooling == "cls" and m.prompts == {"query": "q: "}
    assert m.default_max_length == 128 == m.max_positions                 # capped at the position limit
    assert "max_seq_length (1000, capped at the position limit 128)" in m.default_max_length_source
    (folder / "lmkbench.json").write_text(json.dumps({"pooling": "lmk:g=16"}))
    m = load_model(str(folder), progress=False)
    assert (m.trained_pooling, m.trained_pooling_source) == ("lmk:g=16", "lmkbench.json")


def test_minilm_loads_with_its_sentence_transformers_defaults():
    m = load_model("minilm", progress=False)
    assert (m.trained_pooling, m.default_max_length, m.max_positions) == ("mean", 256, 512)
    assert m.default_max_length_source == "sentence_bert_config.json max_seq_length"
