"""Where and in what precision the forward pass runs: device and dtype resolution, bf16 support, autocast.

The encoder, ``lmkbench train`` and the benchmarks share these. :func:`autocast_for` decides how a stored
vector is computed (the dtype name is in every store key, the autocast rule is this module's source), so this
module is one of :data:`lmkbench.store.CODE_MODULES`.
"""
from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import time
from pathlib import Path

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
    _say_if_bf16_is_slower()
    return dtype


_told: list[bool] = []


@functools.cache
def cpu_bf16_check() -> dict:
    """This CPU and what is known of bf16 on one like it: ``cpu`` (its model name), ``amx`` (AMX tiles, the bf16
    matrix units behind the docs' bf16 speed-ups) and ``measured``, the committed bf16-vs-fp32 figures taken on a
    CPU without AMX (``results/benchmarks/*.json`` whose machine says ``amx: false``; none in an installed
    wheel): ``(file, cpu, figure name, ratio)``, ratio = fp32 time / bf16 time, below 1 where bf16 is slower."""
    cpu, flags = _cpuinfo()
    amx_probe = getattr(getattr(torch, "cpu", None), "_is_amx_tile_supported", None)
    amx = "amx_bf16" in flags or "amx_tile" in flags or bool(amx_probe and amx_probe())
    measured = []
    root = Path(__file__).resolve().parents[1] / "results" / "benchmarks"
    for path in sorted(root.glob("*.json")) if root.is_dir() else []:
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        machine = d.get("machine") or {}
        if machine.get("amx") is False:
            measured += [(f"results/benchmarks/{path.name}", machine.get("cpu_model", "?"), f["name"], f["ratio"])
                         for f in d.get("figures", []) if "bf16" in f.get("name", "")
                         and isinstance(f.get("ratio"), (int, float))]
    return {"cpu": cpu, "amx": amx, "measured": measured}


def _cpuinfo() -> tuple[str, set[str]]:
    """The CPU's model name and flags (Linux /proc/cpuinfo; elsewhere the platform's name and no flags)."""
    import platform

    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return platform.processor() or "unknown CPU", set()
    fields = dict(ln.split(":", 1) for ln in text.split("\n\n", 1)[0].splitlines() if ":" in ln)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    return fields.get("model name") or platform.processor() or "unknown CPU", set(fields.get("flags", "").split())


def _say_if_bf16_is_slower() -> None:
    """Once per process, on stderr (so also under --quiet): bf16 asked for on a CPU without AMX, where it has
    been measured slower than fp32, with the figures and the file they come from."""
    if _told:
        return
    _told.append(True)
    check = cpu_bf16_check()
    if check["amx"]:
        return
    slower = [m for m in check["measured"] if m[3] < 1]
    figures = "; ".join(f"{name} {ratio:.2f}x fp32's speed on {cpu} ({file})" for file, cpu, name, ratio in slower)
    print(f"warning: --dtype bf16 on a CPU without AMX ({check['cpu']}) can be slower than fp32"
          + (f": measured {figures}" if figures else "")
          + "; the bf16 speed-ups in docs/manual/benchmarks.md name the CPU each came from. Time fp32 against bf16 "
            "here before a long run.", file=sys.stderr)


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
