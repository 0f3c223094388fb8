"""Training in bf16 on CPU for real (autocast), refused where the CPU lacks bf16, close to fp32; hyper-parameter
bounds are checked when the command line is parsed (exit 2)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lmkbench import devices as devices_mod
from lmkbench.cli import main
from lmkbench.errors import LmkbenchError
from lmkbench.train import train

FAST = ["--steps", "2", "--batch-size", "4", "--lr", "1e-3", "--query-max-length", "32", "--doc-max-length", "48",
        "--device", "cpu", "--quiet"]


@pytest.fixture()
def bf16_anywhere(monkeypatch):
    """CPU bf16 autocast computes correctly without native bf16 (only slower): let the tiny model use it here."""
    monkeypatch.setattr(devices_mod, "cpu_supports_bf16", lambda: True)


def _linear_output_dtypes(monkeypatch) -> list[torch.dtype]:
    """Record the output dtype of every nn.Linear call made while training."""
    seen: list[torch.dtype] = []
    original = torch.nn.Linear.forward

    def forward(self, x):
        out = original(self, x)
        seen.append(out.dtype)
        return out

    monkeypatch.setattr(torch.nn.Linear, "forward", forward)
    return seen


def test_cpu_bf16_training_runs_the_model_under_autocast(tiny_cfg, bf16_anywhere, monkeypatch):
    seen = _linear_output_dtypes(monkeypatch)
    res = train(tiny_cfg(dtype="bf16", steps=2))
    assert res.meta["dtype"] == "bf16" and res.meta["device"] == "cpu"
    assert seen and set(seen) == {torch.bfloat16}            # every projection computed in bf16
    weights = {p.dtype for p in res.model.parameters()}
    assert weights == {torch.float32}                        # master weights and optimizer state stay fp32


def test_fp32_training_stays_fp32(tiny_cfg, monkeypatch):
    seen = _linear_output_dtypes(monkeypatch)
    train(tiny_cfg(dtype="fp32", steps=1))
    assert seen and set(seen) == {torch.float32}


def test_bf16_loss_curve_follows_fp32(tiny_cfg, bf16_anywhere, tmp_path):
    fp32 = train(tiny_cfg(dtype="fp32", steps=6, out=tmp_path / "a"))
    bf16 = train(tiny_cfg(dtype="bf16", steps=6, out=tmp_path / "b"))
    a, b = np.array(fp32.loss_curve), np.array(bf16.loss_curve)
    assert not np.array_equal(a, b)                          # it did compute in bf16
    np.testing.assert_allclose(b, a, rtol=0.03, atol=0.03)   # bf16 has 8 bits of mantissa: ~1e-2 relative


def test_bf16_on_a_cpu_without_it_is_refused_with_exit_2(tiny_bert, toy_pairs, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(devices_mod, "cpu_supports_bf16", lambda: False)
    out = tmp_path / "m"
    assert main(["train", "--model", tiny_bert, "--pooling", "mean", "--data", str(toy_pairs), "--out", str(out),
                 *FAST, "--dtype", "bf16"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--dtype bf16 on CPU needs AVX-512 BF16 or AMX" in err and err.count("\n") == 0
    assert not out.exists()                                  # refused before anything was written


def test_train_cli_records_bf16_it_ran(tiny_bert, toy_pairs, tmp_path, bf16_anywhere):
    out = tmp_path / "m"
    assert main(["train", "--model", tiny_bert, "--pooling", "lmk:g=8", "--data", str(toy_pairs), "--out", str(out),
                 *FAST, "--dtype", "bf16"]) == 0
    assert json.loads((out / "lmkbench.json").read_text())["dtype"] == "bf16"


@pytest.mark.parametrize("flag,value,says", [
    ("--lr", "-1", "must be > 0"), ("--lr", "nan", "finite"), ("--lr", "inf", "finite"), ("--lr", "0", "must be > 0"),
    ("--warmup-ratio", "2", "must be <= 1"), ("--warmup-ratio", "-0.1", "must be >= 0"),
    ("--kl-weight", "-1", "must be >= 0"), ("--kl-weight", "nan", "finite"), ("--temperature", "nan", "finite"),
    ("--temperature", "0", "must be > 0"), ("--weight-decay", "-1", "must be >= 0"), ("--batch-size", "1", ">= 2"),
    ("--hard-negatives", "-1", ">= 0"), ("--save-every", "-2", ">= 0"), ("--keep-checkpoints", "0", ">= 1"),
    ("--lr", "abc", "could not convert"),
])
@pytest.mark.parametrize("command", ["train", "train-matched"])
def test_out_of_range_hyperparameters_are_parse_errors(command, flag, value, says, tmp_path, capsys):
    pooling = "--pooling" if command == "train" else "--poolings"
    assert main([command, "--model", "x", pooling, "mean", "--data", "x.jsonl", "--out", str(tmp_path / "o"),
                 flag, value]) == 2
    err = capsys.readouterr().err
    assert f"argument {flag}" in err and says in err
    assert "Traceback" not in err


def test_a_config_built_in_python_is_checked_too(tiny_cfg):
    with pytest.raises(LmkbenchError, match="--warmup-ratio: must be <= 1"):
        train(tiny_cfg(warmup_ratio=2.0))
    with pytest.raises(LmkbenchError, match="--lr: must be a finite number"):
        train(tiny_cfg(lr=float("nan")))
