"""The training loop: learning, exact resumption, reloadable checkpoints, lmkbench.json steering `run`."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from lmkbench.encoder import PooledEncoder
from lmkbench.errors import LmkbenchError
from lmkbench.train import train
from lmkbench.train.forward import PooledForward
from lmkbench.train.spec import parse_train_pooling
from lmkbench.train.state import list_checkpoints


@pytest.mark.parametrize("pooling", ["mean", "lmk:train_g=4+8+16"])
def test_loss_decreases_on_a_toy_set(tiny_cfg, pooling):
    res = train(tiny_cfg(steps=24, pooling=pooling))
    first, last = np.mean(res.loss_curve[:4]), np.mean(res.loss_curve[-4:])
    assert len(res.loss_curve) == 24 and np.isfinite(res.loss_curve).all()
    assert last < 0.5 * first, res.loss_curve


class Interrupt(Exception):
    pass


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tiny_cfg, tmp_path):
    pooling = "lmk:train_g=4+8+16"   # variable intervals and dropout: both must replay exactly
    full = train(tiny_cfg(out=tmp_path / "full", steps=6, save_every=3, pooling=pooling))

    def stop(step, loss):
        if step == 4:
            raise Interrupt

    with pytest.raises(Interrupt):
        train(tiny_cfg(out=tmp_path / "cut", steps=6, save_every=3, pooling=pooling), on_step=stop)
    assert [s for s, _ in list_checkpoints(tmp_path / "cut")] == [3]
    assert not (tmp_path / "cut" / "model.safetensors").exists()
    with pytest.raises(LmkbenchError, match="--resume"):
        train(tiny_cfg(out=tmp_path / "cut", steps=6, save_every=3, pooling=pooling))
    with pytest.raises(LmkbenchError, match="settings differ.*lr"):
        train(tiny_cfg(out=tmp_path / "cut", steps=6, save_every=3, pooling=pooling, lr=5e-4, resume=True))
    resumed = train(tiny_cfg(out=tmp_path / "cut", steps=6, save_every=3, pooling=pooling, resume=True))
    assert resumed.resumed_from == 3
    assert resumed.loss_curve == full.loss_curve
    a, b = load_file(tmp_path / "full" / "model.safetensors"), load_file(tmp_path / "cut" / "model.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # and training really changed the weights (the comparison is not of two untouched copies)
    base = load_file(tiny_cfg().model + "/model.safetensors")
    assert any(not torch.equal(base[k], a[k]) for k in a if k in base)


def test_saved_model_reloads_with_identical_embeddings(tiny_cfg):
    res = train(tiny_cfg(steps=3, pooling="lmk:train_g=4+8"))
    texts = ["a query", "a document " * 40, ""]
    tp = parse_train_pooling("lmk:train_g=4+8")
    fwd = PooledForward(res.model, PooledEncoder(res.out, device="cpu", cache_dir=False, progress=False).loaded.tokenizer,
                        tp.pooling)
    with torch.no_grad():
        mem = fwd.embed(texts, [tp.eval_family()] * 3, 128).numpy()
    enc = PooledEncoder(res.out, device="cpu", cache_dir=False, progress=False)
    assert enc.loaded.trained_pooling == "lmk:g=32"
    got = enc.encode(texts, ["lmk:g=32"]).embeddings["lmk:g=32"]
    np.testing.assert_allclose(got, mem, atol=2e-5)


def test_lmkbench_json_records_the_run_and_steers_lmkbench_run(tiny_cfg, tiny_beir, tmp_path):
    from lmkbench.cli import main
    from lmkbench.results import iter_results

    res = train(tiny_cfg(steps=2, pooling="lmk:g=16,train_g=8+16"))
    meta = json.loads((res.out / "lmkbench.json").read_text())
    assert meta["complete"] and meta["pooling"] == "lmk:g=16" and meta["train_pooling"] == "lmk:g=16,train_g=8+16"
    assert meta["steps"] == 2 and meta["seed"] == 0 and len(meta["loss_curve"]) == 2
    assert meta["data"]["n_examples"] == 12 and meta["base"] == tiny_cfg().model
    assert meta["hyperparameters"]["lr"] == 1e-3 and meta["hyperparameters"]["temperature"] == 0.02
    out = tmp_path / "results"
    assert main(["run", "--model", str(res.out), "--task", f"beir:{tiny_beir}", "--out", str(out), "--no-cache",
                 "--quiet"]) == 0
    recs = list(iter_results(out))
    assert [r.pooling for r in recs] == ["lmk:g=16"] and recs[0].meta.pooling_mismatch is False
    assert recs[0].model == "out"
    assert main(["run", "--model", str(res.out), "--pooling", "mean", "--task", f"beir:{tiny_beir}", "--out", str(out),
                 "--no-cache", "--quiet"]) == 0
    mean = [r for r in iter_results(out) if r.pooling == "mean"]
    assert mean[0].meta.pooling_mismatch is True and mean[0].meta.trained_pooling == "lmk:g=16"


def test_finished_run_is_kept_unless_overwritten(tiny_cfg):
    train(tiny_cfg(steps=1))
    with pytest.raises(LmkbenchError, match="--overwrite"):
        train(tiny_cfg(steps=1))
    again = train(tiny_cfg(steps=1, resume=True))           # same settings: reuse, no training
    assert again.skipped
    assert not train(tiny_cfg(steps=1, overwrite=True)).skipped


def test_length_limits_are_checked(tiny_cfg):
    with pytest.raises(LmkbenchError, match="exceeds the model's limit of 128"):
        train(tiny_cfg(doc_max_length=512))


def test_gradient_checkpointing_gives_the_same_training(tiny_cfg, tmp_path):
    """The CUDA default (checkpointing) exercised on CPU: recomputed activations, same losses and weights."""
    plain = train(tiny_cfg(out=tmp_path / "plain", steps=3, pooling="lmk:train_g=4+8"))
    ckpt = train(tiny_cfg(out=tmp_path / "ckpt", steps=3, pooling="lmk:train_g=4+8", gradient_checkpointing=True))
    def on(m):
        return getattr(m, "is_activation_checkpointing", None) if hasattr(m, "is_activation_checkpointing") \
            else m.is_gradient_checkpointing

    assert on(ckpt.model) and not on(plain.model)
    np.testing.assert_allclose(ckpt.loss_curve, plain.loss_curve, rtol=1e-5)
    a, b = load_file(tmp_path / "plain" / "model.safetensors"), load_file(tmp_path / "ckpt" / "model.safetensors")
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5)
