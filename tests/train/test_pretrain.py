"""MLM pretraining (lmkbench pretrain): whole novels held out, a resumed run ends where an uninterrupted one does,
the recorded dtype is the one the steps ran in, the encoder folder loads as an lmkbench model, bad rows are one
clear error, and the passage overlap check finds a quoted evaluation passage."""
from __future__ import annotations

import gzip
import json
import random

import numpy as np
import pytest
import torch

from lmkbench.errors import LmkbenchError
from lmkbench.train import pretrain as P

WORDS = ("the a of and to in was he she it that his her with for on at by from but not had said would could there "
         "their they them were been have one all what when who which about into over after before again house "
         "door night day light dark river road town letter money father mother friend heart hand eyes face").split()


def _corpus(path, novels=6, chapters=3, words=400, seed=0):
    rng = random.Random(seed)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for n in range(novels):
            for c in range(chapters):
                text = " ".join(rng.choice(WORDS) for _ in range(words))
                f.write(json.dumps({"_id": f"eltec-eng/N{n:02d}/{c:03d}", "text": text}) + "\n")
    return path


def _heldout_every(novels=6) -> int:
    """A modulus that holds out at least one novel and keeps at least one for training."""
    for every in range(2, 10):
        held = [P.is_heldout(f"eltec-eng/N{n:02d}/000", every) for n in range(novels)]
        if any(held) and not all(held):
            return every
    raise AssertionError("no modulus splits the toy novels")


def _cfg(tmp_path, out="run", **kw):
    base = dict(data=str(_corpus(tmp_path / "docs.jsonl.gz")), out=str(tmp_path / out), layers=1, hidden=32, heads=2,
                intermediate=64, local_window=16, max_positions=256, seq_len=34, batch_size=2, steps=4, lr=1e-3,
                warmup=1, heldout_every=_heldout_every(), heldout_blocks=4, eval_every=2, save_every=2, log_every=1,
                dtype="fp32", device="cpu")
    base.update(kw)
    return P.PretrainConfig(**base)


def test_whole_novels_are_held_out(tmp_path, minilm_tokenizer):
    cfg = _cfg(tmp_path)
    tok = minilm_tokenizer
    manifest = P.prepare_data(cfg, tok)
    train, held = manifest["parts"]["train"], manifest["parts"]["heldout"]
    assert train["blocks"] and held["blocks"]
    assert not set(train["novels"]) & set(held["novels"])
    assert all(P.is_heldout(n + "/000", cfg.heldout_every) for n in held["novels"])
    again = P.prepare_data(cfg, tok)                       # verified and reused, not rebuilt
    assert again == json.loads((tmp_path / "run" / "data" / "data.json").read_text())
    (tmp_path / "run" / "data" / "train.u16").write_bytes(b"\0\0")      # damaged: rebuilt
    assert P.prepare_data(cfg, tok)["parts"]["train"]["sha256"] == train["sha256"]


def _weights(folder):
    from safetensors.torch import load_file
    return load_file(str(folder / "model.safetensors"))


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path, monkeypatch):
    whole = P.pretrain(_cfg(tmp_path, "whole"), progress=lambda *_: None)
    assert whole["steps_done"] == 4 and whole["complete"]
    from transformers import Trainer
    real = Trainer.training_step
    calls = {"n": 0}

    def crash(self, *a, **kw):
        calls["n"] += 1
        if calls["n"] > 3:              # dies during step 4, after checkpoint-2
            raise RuntimeError("power cut")
        return real(self, *a, **kw)

    monkeypatch.setattr(Trainer, "training_step", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        P.pretrain(_cfg(tmp_path, "cut"), progress=lambda *_: None)
    record = json.loads((tmp_path / "cut" / "pretrain.json").read_text())
    assert not record["complete"] and not (tmp_path / "cut" / "modernbert-mini").exists()
    monkeypatch.setattr(Trainer, "training_step", real)
    said = []
    resumed = P.pretrain(_cfg(tmp_path, "cut"), progress=said.append)
    assert any("resuming from" in s and "checkpoint-2" in s for s in said)
    a, b = _weights(tmp_path / "whole" / "modernbert-mini"), _weights(tmp_path / "cut" / "modernbert-mini")
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=1e-6)
    assert resumed["heldout"]["accuracy"] == pytest.approx(whole["heldout"]["accuracy"])
    with pytest.raises(LmkbenchError, match="other settings.*steps"):
        P.pretrain(_cfg(tmp_path, "cut", steps=6), progress=lambda *_: None)


def test_the_encoder_folder_loads_with_its_limit_and_no_pooling(tmp_path):
    from lmkbench.models import load_model
    rec = P.pretrain(_cfg(tmp_path, steps=2), progress=lambda *_: None)
    loaded = load_model(str(tmp_path / "run" / "modernbert-mini"), device="cpu")
    assert type(loaded.model).__name__ == "ModernBertModel"
    assert loaded.max_positions == 256 and loaded.trained_pooling is None
    assert loaded.training["dtype"] == rec["settings"]["dtype"] == "fp32"
    assert (tmp_path / "run" / "mlm" / "config.json").exists()


@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_the_recorded_dtype_is_the_one_the_steps_ran_in(tmp_path, monkeypatch, dtype):
    if dtype == "bf16":
        from lmkbench.devices import cpu_supports_bf16
        if not cpu_supports_bf16():
            pytest.skip("this CPU has no native bf16")
    seen = []
    build = P.build_model

    def traced(cfg, tok):
        model = build(cfg, tok)
        lin = model.model.layers[0].mlp.Wi
        lin.register_forward_hook(lambda m, i, o: seen.append((m.training, o.dtype)))
        return model

    monkeypatch.setattr(P, "build_model", traced)
    rec = P.pretrain(_cfg(tmp_path, steps=2, dtype=dtype), progress=lambda *_: None)
    assert rec["settings"]["dtype"] == dtype
    want = torch.bfloat16 if dtype == "bf16" else torch.float32
    assert {d for training, d in seen if training} == {want}


def test_a_bad_row_names_file_line_and_field(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"_id": "a/1", "text": "fine"}\n{"_id": "a/2"}\n', encoding="utf-8")
    with pytest.raises(LmkbenchError, match=r"bad\.jsonl:2: field 'text'"):
        list(P._documents(path))


def test_the_cli_refuses_a_missing_file_with_exit_2(tmp_path, capsys):
    from lmkbench.cli import main
    assert main(["pretrain", "--data", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o")]) == 2
    assert "nope.jsonl" in capsys.readouterr().err


def test_passage_overlap_finds_a_quoted_passage():
    from lmkbench.train.overlap import find_passage_overlap

    class Task:
        name = "toy"
        needs_tokenizer = False

    docs = ["the quick brown fox jumps over the lazy dog while the farmer sleeps in the barn all day long",
            "an entirely different text about rivers and mountains that shares nothing at all with the novel"]
    novel = "chapter one. it was said that " + docs[0].upper() + " and then nothing more happened"

    import lmkbench.train.overlap as O
    orig = O.task_document_sets
    O.task_document_sets = lambda task, tokenizer=None: {"corpus": (["d0", "d1"], docs)}
    try:
        found = find_passage_overlap([novel, "unrelated"], [Task()])
    finally:
        O.task_document_sets = orig
    assert found["tasks"]["toy"]["shared"] == 1 and found["tasks"]["toy"]["shared_ids"] == ["d0"]
    assert found["tasks"]["toy"]["documents_checked"] == 2
    assert np.asarray(O.shingle_hashes("too short")).size == 0
