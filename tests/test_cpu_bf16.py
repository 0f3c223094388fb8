"""bf16 on CPU: allowed where the CPU has native bf16, refused clearly where not, close to fp32, its own cache."""
from __future__ import annotations

import numpy as np
import pytest

from lmkbench import devices as devices_mod
from lmkbench.encoder import PooledEncoder, cpu_supports_bf16, resolve_dtype
from lmkbench.errors import LmkbenchError

TEXTS = ["solar panels on the roof", "a football match report with a late goal",
         "how to bake sourdough bread at home " * 6, "", "stock markets fell sharply on monday"]


def test_auto_stays_fp32_on_cpu():
    assert resolve_dtype("auto", "cpu") == "fp32"


def test_bf16_on_a_cpu_without_native_bf16_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(devices_mod, "cpu_supports_bf16", lambda: False)
    with pytest.raises(LmkbenchError, match="AVX-512 BF16 or AMX"):
        resolve_dtype("bf16", "cpu")


def test_fp16_on_cpu_is_refused():
    with pytest.raises(LmkbenchError, match="fp16 needs a CUDA device"):
        resolve_dtype("fp16", "cpu")


def test_support_check_reads_the_cpu_flags():
    flags = open("/proc/cpuinfo").read() if __import__("os").path.exists("/proc/cpuinfo") else ""
    if "avx512_bf16" in flags or "amx_bf16" in flags:
        assert cpu_supports_bf16()
    assert isinstance(cpu_supports_bf16(), bool)


needs_bf16 = pytest.mark.skipif(not cpu_supports_bf16(), reason="this CPU has no native bf16 (AVX-512 BF16 / AMX)")


@needs_bf16
def test_bf16_agrees_with_fp32_on_a_tiny_model(tiny_bert):
    specs = ["cls", "mean", "lmk:g=8"]
    fp32 = PooledEncoder(tiny_bert, cache_dir=False, progress=False, max_length=64, device="cpu", dtype="fp32")
    bf16 = PooledEncoder(tiny_bert, cache_dir=False, progress=False, max_length=64, device="cpu", dtype="bf16")
    a, b = fp32.encode(TEXTS, specs), bf16.encode(TEXTS, specs)
    assert bf16.describe()["dtype"] == "bf16"
    for p in specs:
        assert b.embeddings[p].dtype == np.float32                     # pooled and normalised in fp32
        assert np.allclose(np.linalg.norm(b.embeddings[p], axis=1), 1, atol=1e-5)
        cos = (a.embeddings[p] * b.embeddings[p]).sum(1)
        assert cos.min() > 0.99, (p, cos)
        assert not np.array_equal(a.embeddings[p], b.embeddings[p])   # it did compute in bf16


@needs_bf16
def test_store_keys_differ_by_dtype(tiny_bert, tmp_path):
    first = PooledEncoder(tiny_bert, cache_dir=tmp_path, progress=False, max_length=64, device="cpu", dtype="fp32")
    first.encode(TEXTS, ["mean"])
    other = PooledEncoder(tiny_bert, cache_dir=tmp_path, progress=False, max_length=64, device="cpu", dtype="bf16")
    res = other.encode(TEXTS, ["mean"])
    assert res.stats.cached == 0 and res.stats.shards_reused == 0
    again = PooledEncoder(tiny_bert, cache_dir=tmp_path, progress=False, max_length=64, device="cpu", dtype="bf16")
    assert again.encode(TEXTS, ["mean"]).stats.shards_reused == 1
    assert len({p.parent for p in tmp_path.rglob("*.ok.json")}) == 2


@needs_bf16
def test_run_prints_no_bf16_figure_for_a_tiny_model(tiny_bert, tiny_beir, tmp_path, capsys):
    """A tiny model's forward is too short to time: no "Nx faster" figure (the shown case: test_cli_run.py)."""
    from lmkbench.cli import main

    args = ["run", "--model", tiny_bert, "--pooling", "mean", "--task", f"beir:{tiny_beir}", "--max-length", "64",
            "--device", "cpu", "--no-cache", "--out", str(tmp_path / "o")]
    assert main(args) == 0
    assert "hint:" not in capsys.readouterr().err
    assert main([*args, "--dtype", "fp32", "--overwrite"]) == 0
    assert "hint:" not in capsys.readouterr().err                     # asked for fp32: no hint
