"""Where and in what precision the forward pass runs: device and dtype resolution, bf16 support, autocast.

The encoder, ``lmkbench train`` and the benchmarks share these. :func:`autocast_for` decides how a stored
vector is computed (the dtype name is in every store key, the autocast rule is this module's source), so this
module is one of :data:`lmkbench.store.CODE_MODULES`.
"""
from __future__ import annotations

import contextlib
import os
import time

import torch

from .errors import LmkbenchError

#: Bounded kernel caches. oneDNN and PyTorch's mkldnn layer cache a primitive per input shape (default 1024
#: each); length-sorted batches come in ever new (rows, width) shapes, so over a large corpus those caches
#: filled with entries that are never reused: measured on a 1M-document run, peak RSS 923 → 706 MiB with the
#: caches off, and no slower. Both are read when the first primitive is made; a value the user set wins.
KERNEL_CACHE_CAPACITY = "32"
for _var in ("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "LRU_CACHE_CAPACITY"):
    os.environ.setdefault(_var, KERNEL_CACHE_CAPACITY)

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(device: str = "auto") -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise LmkbenchError("--device cuda asked for, but torch sees no CUDA device")
    if device not in ("cpu",) and not device.startswith("cuda"):
        raise LmkbenchError(f"unknown device {device!r} (auto|cpu|cuda|cuda:N)")
    return device


def device_kind(device: str) -> str:
    """``cuda`` for any CUDA device, else ``cpu``: the key of the per-device defaults."""
    return "cuda" if device.startswith("cuda") else "cpu"


def resolve_dtype(dtype: str, device: str) -> str:
    """``auto`` → bf16 (or fp16) on CUDA, fp32 on CPU; ``bf16`` on CPU needs AVX-512 BF16 or AMX."""
    if dtype == "auto":
        if device.startswith("cuda"):
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "fp32"
    if dtype not in DTYPES:
        raise LmkbenchError(f"unknown dtype {dtype!r} (auto|fp32|bf16|fp16)")
    if device.startswith("cuda") or dtype == "fp32":
        return dtype
    if dtype == "fp16":
        raise LmkbenchError("--dtype fp16 needs a CUDA device; on CPU use bf16 (where supported) or fp32")
    if not cpu_supports_bf16():
        raise LmkbenchError("--dtype bf16 on CPU needs AVX-512 BF16 or AMX, which this CPU lacks "
                            f"(torch sees {torch.backends.cpu.get_cpu_capability()}); use fp32")
    return dtype


def cpu_supports_bf16() -> bool:
    """True where the CPU has native bf16 arithmetic (AVX-512 BF16 or AMX tiles), as oneDNN uses it."""
    cpu = getattr(torch, "cpu", None)
    checks = [getattr(cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(bool(f()) for f in checks if f is not None)


def bf16_speedup(model, device: str = "cpu", rows: int = 4, width: int = 256, reps: int = 2) -> float:
    """Measured forward speed-up of bf16 autocast over fp32 for ``model`` on ``device`` (a second or so)."""
    ids = torch.randint(1000, 2000, (rows, width), device=device)
    seconds = {}
    with torch.inference_mode():
        for dtype in ("fp32", "bf16"):
            with autocast_for(device, dtype):
                model(input_ids=ids)                       # warm-up: kernels, primitive caches
                t = time.perf_counter()
                for _ in range(reps):
                    model(input_ids=ids)
                seconds[dtype] = time.perf_counter() - t
    return seconds["fp32"] / max(seconds["bf16"], 1e-9)


def autocast_for(device: str, dtype: str):
    """Autocast to ``dtype`` for the forward pass (a no-op for fp32); pooling sums stay in fp32/fp64."""
    if dtype == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device_kind(device), dtype=DTYPES[dtype])
