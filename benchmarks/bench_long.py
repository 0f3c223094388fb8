"""Native long encoders at their real cost: a random ModernBERT-base-shaped model (22 layers, 768-d, 12 heads,
intermediate 1152, vocabulary 50,368, 8,192 positions, a ±64 local window in two of every three layers) at
512, 2k and 8k tokens, fp32 and bf16 autocast, **before** (transformers' sdpa: the local window as a mask over
the full L×L) and **after** (lmkbench.attention's banded kernel) in the same run.

Each configuration runs in its own child process (this file with ``child``), so its peak RSS (``VmHWM``)
is its own. Figures: tokens/s and the after/before speed-up; the share of the GEMM-bound estimate (FLOPs
counted with the local layers windowed, over the fp32/bf16 GEMM peak each child measures just before and
after its timed forwards, so both see the same contention); time per token
at 8k over 2k; peak RSS at 8k against weights + 1.5 GiB. ``--quick``: 3 layers (one global, two local).

    python benchmarks/run.py --only long [--quick]
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Figure  # noqa: E402

GIB = 2**30
LENGTHS = (512, 2048, 8192)
TOKENS_PER_FORWARD = 8192           # rows × length: 16 × 512, 4 × 2048, 1 × 8192
BASE_SHAPE = dict(hidden_size=768, num_attention_heads=12, intermediate_size=1152, vocab_size=50368,
                  max_position_embeddings=8192, local_attention=128, global_attn_every_n_layers=3)
LAYERS = {"quick": 3, "full": 22}
GEMM_SHAPE = (2048, 768, 2304)      # the Wqkv projection of 2k tokens
REPS = {"quick": 1, "full": 2}
FORMULA = ("FLOPs(L) = L · Σ_layers [8·d² (Wqkv, Wo) + 6·d·d_ff (GLU MLP) + 4·d·span], span = L in global layers, "
           "min(L, 2·w+1) in local ones (w = 64); embeddings, norms, activations and softmax left out")


def modernbert_flops(config, length: int) -> float:
    """Useful forward FLOPs of one ModernBERT sequence of ``length`` tokens (local layers windowed): see FORMULA."""
    d, dff = config.hidden_size, config.intermediate_size
    total = 0.0
    for kind in config.layer_types:
        span = length if kind == "full_attention" else min(length, 2 * config.sliding_window + 1)
        total += length * (8.0 * d * d + 6.0 * d * dff + 4.0 * d * span)
    return total


def build_model(folder: Path, layers: int) -> Path:
    """Save a random ModernBERT-base-shaped model with the MiniLM tokenizer (its special ids) into ``folder``."""
    import torch
    from transformers import AutoTokenizer, ModernBertConfig, ModernBertModel

    from common import minilm_path

    tok = AutoTokenizer.from_pretrained(minilm_path())
    torch.manual_seed(0)
    cfg = ModernBertConfig(num_hidden_layers=layers, pad_token_id=tok.pad_token_id, cls_token_id=tok.cls_token_id,
                           sep_token_id=tok.sep_token_id, bos_token_id=tok.cls_token_id,
                           eos_token_id=tok.sep_token_id, **BASE_SHAPE)
    ModernBertModel(cfg).eval().save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def long_native(ctx) -> list[Figure]:
    from transformers import AutoConfig

    from bench_bf16 import _gemm_gflops

    layers, reps = LAYERS[ctx.mode], REPS[ctx.mode]
    print(f"long: {FORMULA}", flush=True)
    peaks = {"fp32": _gemm_gflops(ctx.device, _torch_dtype("fp32"), *GEMM_SHAPE),
             "bf16": _gemm_gflops(ctx.device, _torch_dtype("bf16"), *GEMM_SHAPE)}
    figs = [Figure(f"long.gemm_peak.{k}", v, "GFLOP/s", None, "torch.mm 2048×768 @ 768×2304, this process "
                   "(shares use the peak each child measures around its own forwards)")
            for k, v in peaks.items()]
    with tempfile.TemporaryDirectory(prefix="lmkbench-long-") as tmp:
        ctx.log(f"[long] random ModernBERT-base shape, {layers} layers → {tmp}")
        folder = build_model(Path(tmp), layers)
        config = AutoConfig.from_pretrained(folder)
        res: dict[tuple[int, str, str], dict] = {}
        for length in LENGTHS:
            for dtype in ("fp32", "bf16"):
                order = ("after", "before") if len(res) % 4 == 0 else ("before", "after")
                for impl in order:
                    res[length, dtype, impl] = r = _run_child(ctx, folder, length, dtype, impl, reps)
                    ctx.log(f"  {length:>5} {dtype} {impl:<6} {r['tokens_per_s']:8.0f} tok/s, peak RSS "
                            f"{r['peak_rss'] / GIB:.2f} GiB ({r['attention']})")
    for length in LENGTHS:
        for dtype in ("fp32", "bf16"):
            a, b = res[length, dtype, "after"], res[length, dtype, "before"]
            flops = modernbert_flops(config, length) * a["rows"]
            peak = a["gemm_gflops"]     # measured in the child around its forwards: the same contention
            bound = flops / (peak * 1e9)                            # seconds per forward at the GEMM peak
            share = bound / a["seconds_per_forward"]
            before_share = flops / (b["gemm_gflops"] * 1e9) / b["seconds_per_forward"]
            tag = f"long.{length}.{dtype}"
            figs.append(Figure(f"{tag}.tokens_per_s", a["tokens_per_s"], "tok/s",
                               a["tokens_per_s"] / b["tokens_per_s"],
                               f"before: transformers sdpa with the window as an L×L mask ({b['tokens_per_s']:.0f} "
                               f"tok/s); {a['rows']} × {length} tokens", "", {"after": a, "before": b}))
            figs.append(Figure(f"{tag}.share_of_estimate", share, "", None,
                               f"GEMM-bound estimate {bound:.2f} s/forward = {flops / 1e12:.2f} TFLOP at "
                               f"{peak:.0f} GFLOP/s; before {before_share:.1%}",
                               ">= 0.5" if (length, dtype) == (8192, "fp32") else "",
                               {"flops": flops, "estimate_s": bound, "gemm_gflops": peak,
                                "before_share": before_share}))
    for dtype in ("fp32", "bf16"):
        per_token = {L: 1 / res[L, dtype, "after"]["tokens_per_s"] for L in LENGTHS}
        floor = (modernbert_flops(config, 8192) / 8192) / (modernbert_flops(config, 2048) / 2048)
        before = res[8192, dtype, "before"]["tokens_per_s"] ** -1 / res[2048, dtype, "before"]["tokens_per_s"] ** -1
        figs.append(Figure(f"long.8192_vs_2048.{dtype}.time_per_tok", per_token[8192] * 1e3, "ms/tok",
                           per_token[8192] / per_token[2048],
                           f"time per token at 2k; the FLOP count alone gives {floor:.2f}, before {before:.2f}",
                           "<= 1.5", {"flop_ratio": floor, "before_ratio": before}))
        a, b = res[8192, dtype, "after"], res[8192, dtype, "before"]
        limit = a["weights_bytes"] + 1.5 * GIB
        figs.append(Figure(f"long.8192.{dtype}.peak_rss", a["peak_rss"] / GIB, "GiB", a["peak_rss"] / limit,
                           f"weights {a['weights_bytes'] / GIB:.2f} GiB + 1.5 GiB; before {b['peak_rss'] / GIB:.2f} "
                           f"GiB; process RSS before the forward {a['rss_before'] / GIB:.2f} GiB", "<= 1",
                           {"after": a["peak_rss"], "before": b["peak_rss"], "limit": limit}))
        if "gpu_peak_bytes" in a:
            figs.append(Figure(f"long.8192.{dtype}.gpu_peak", a["gpu_peak_bytes"] / GIB, "GiB",
                               a["gpu_peak_bytes"] / max(b["gpu_peak_bytes"], 1),
                               "torch.cuda.max_memory_allocated, before", "", {}))
    return figs


def _torch_dtype(name: str):
    import torch

    return {"fp32": torch.float32, "bf16": torch.bfloat16}[name]


def _run_child(ctx, folder: Path, length: int, dtype: str, impl: str, reps: int) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "child", "--model", str(folder), "--length", str(length),
           "--rows", str(max(TOKENS_PER_FORWARD // length, 1)), "--dtype", dtype, "--impl", impl,
           "--reps", str(reps), "--device", ctx.device, "--threads", str(ctx.threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"long child failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------ the child process

def child(argv: list[str]) -> dict:
    """One configuration: load, warm up on a short input, then ``reps`` timed forwards of rows × length
    random ids (no padding: the encoder passes ``attention_mask=None`` then), peak RSS of the timed part."""
    import argparse

    import torch

    from bench_bf16 import _gemm_gflops
    from child import peak_hwm, reset_peak, rss_now
    from lmkbench.encoder import autocast_for
    from lmkbench.models import load_model

    p = argparse.ArgumentParser(prog="bench_long.py child")
    for name, typ in (("--model", str), ("--length", int), ("--rows", int), ("--dtype", str), ("--impl", str),
                      ("--reps", int), ("--device", str), ("--threads", int)):
        p.add_argument(name, type=typ, required=True)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cuda = args.device.startswith("cuda")
    loaded = load_model(args.model, device=args.device, progress=False, local_attention=args.impl == "after")
    model = loaded.model
    weights = sum(t.numel() * t.element_size() for t in model.parameters())
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, 20000, (args.rows, args.length), generator=gen).to(args.device)
    tdtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[args.dtype]
    gemm = [_gemm_gflops(args.device, tdtype, *GEMM_SHAPE, reps=10)]
    with torch.inference_mode(), autocast_for(args.device, args.dtype):
        model(input_ids=ids[:1, :256])
        base = rss_now()
        reset_peak()
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        walls = []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            model(input_ids=ids).last_hidden_state.float().sum().item()
            walls.append(time.perf_counter() - t0)
    gemm.append(_gemm_gflops(args.device, tdtype, *GEMM_SHAPE, reps=10))
    best = min(walls)
    out = {"length": args.length, "rows": args.rows, "dtype": args.dtype, "impl": args.impl,
           "attention": loaded.attention, "walls_s": walls, "seconds_per_forward": best,
           "tokens_per_s": args.rows * args.length / best, "gemm_gflops": sum(gemm) / len(gemm),
           "weights_bytes": weights, "rss_before": base,
           "peak_rss": peak_hwm()}
    if cuda:
        out["gpu_peak_bytes"] = torch.cuda.max_memory_allocated()
    return out


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        print(json.dumps(child(sys.argv[2:])))
    else:
        raise SystemExit("run through benchmarks/run.py --only long (or: bench_long.py child ...)")
