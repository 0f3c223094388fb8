"""GPU figures for benchmarks/gpu_check.sh: the long-document encoder at 8k and MiniLM throughput.

    python benchmarks/gpu_long.py long   [--device cuda] [--lengths 512,2048,8192] [--json F]   # ModernBERT-base shape
    python benchmarks/gpu_long.py minilm [--device cuda] [--texts 4096] [--json F]              # MiniLM tokens/s

Both go through lmkbench's own path (``load_model`` → :class:`PooledEncoder`), in fp32 and under bf16
autocast, and print one line per setting plus a JSON document (``--json``). ``long`` builds a random
ModernBERT-base-shaped model (22 layers, 768-d, MLP 1152, 8,192 positions, 128-token local attention in two of
every three layers; no ModernBERT tokenizer is available offline, so it is paired with MiniLM's, vocabulary
30,522) and reports tokens/s, the share of a GEMM-bound estimate (FLOPs counted with the local layers
windowed, at the matrix-product rate measured in the same process) and, on CUDA,
``torch.cuda.max_memory_allocated`` against the weights. ``--tiny`` shrinks everything for a CPU dry run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
for _k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_k, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402

FLOPS_FORMULA = ("FLOPs per text of L tokens = sum over layers of [2·L·(4·d² + 3·d·I) + 4·d·L·span], "
                 "span = L in global layers, min(L, local_attention) in local ones (d hidden, I MLP width; "
                 "the QKV, output and GLU-MLP projections plus QKᵀ and AV; embeddings, norms and softmax left out)")


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def gemm_tflops(device: str, dtype: str, n: int) -> float:
    """Measured n×n×n matrix-product rate (best of 5 after 2 warm-ups), in TFLOP/s; bf16 under autocast."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    ctx = torch.autocast(device.split(":")[0], dtype=torch.bfloat16) if dtype == "bf16" else torch.no_grad()
    best = float("inf")
    with torch.no_grad(), ctx:
        for i in range(7):
            sync(device)
            t = time.perf_counter()
            a @ b
            sync(device)
            if i >= 2:
                best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best / 1e12


def word_texts(tokenizer, n_texts: int, words: int, seed: int = 0) -> list[str]:
    """``n_texts`` texts of ``words`` whole-word vocabulary entries (one token each in a WordPiece vocabulary)."""
    import random

    vocab = [w for w, i in tokenizer.get_vocab().items() if 2000 <= i and w.isalpha() and w.isascii()]
    vocab.sort()
    rng = random.Random(seed)
    return [" ".join(rng.choice(vocab) for _ in range(words)) for _ in range(n_texts)]


def peak_memory(device: str) -> float | None:
    return torch.cuda.max_memory_allocated() / 2 ** 30 if device.startswith("cuda") else None


def reset_memory(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def timed_encode(make_encoder, texts: list[str], poolings: list[str], device: str, reps: int) -> dict:
    """Best of ``reps`` timed encodes after one warm-up: wall and forward seconds, tokens, peak memory."""
    enc = make_encoder()
    enc.encode(texts, poolings)                      # warm-up: kernels, allocator, autotuning
    best = None
    for _ in range(reps):
        reset_memory(device)
        sync(device)
        t = time.perf_counter()
        res = enc.encode(texts, poolings)
        sync(device)
        wall = time.perf_counter() - t
        if best is None or wall < best["wall_s"]:
            best = {"wall_s": wall, "forward_s": res.stats.forward_s, "tokens": int(res.stats.tokens),
                    "padded_tokens": int(res.stats.padded_tokens), "batches": int(res.stats.batches),
                    "peak_mem_gib": peak_memory(device)}
    del enc
    return best


# -- long: a ModernBERT-base-shaped random model ---------------------------------------------------------
def modernbert_folder(folder: Path, tiny: bool, max_positions: int) -> dict:
    """Save a random ModernBERT (base shape, or tiny) with the MiniLM tokenizer; return its shape."""
    from transformers import AutoTokenizer, ModernBertConfig, ModernBertModel

    from lmkbench.models import resolve_model_path

    tok = AutoTokenizer.from_pretrained(resolve_model_path("minilm"))
    shape = (dict(hidden_size=64, intermediate_size=96, num_hidden_layers=3, num_attention_heads=2, local_attention=32)
             if tiny else dict(hidden_size=768, intermediate_size=1152, num_hidden_layers=22, num_attention_heads=12,
                               local_attention=128))
    cfg = ModernBertConfig(vocab_size=tok.vocab_size, max_position_embeddings=max_positions,
                           global_attn_every_n_layers=3, pad_token_id=tok.pad_token_id, cls_token_id=tok.cls_token_id,
                           sep_token_id=tok.sep_token_id, bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id,
                           **shape)
    torch.manual_seed(0)
    model = ModernBertModel(cfg).eval()
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return {**shape, "vocab_size": tok.vocab_size, "max_position_embeddings": max_positions,
            "layer_types": list(cfg.layer_types), "parameters": sum(p.numel() for p in model.parameters())}


def long_flops(shape: dict, length: int) -> float:
    d, inner = shape["hidden_size"], shape["intermediate_size"]
    total = 0.0
    for kind in shape["layer_types"]:
        span = length if kind == "full_attention" else min(length, shape["local_attention"])
        total += 2 * length * (4 * d * d + 3 * d * inner) + 4 * d * length * span
    return total


def run_long(args) -> dict:
    from lmkbench.encoder import PooledEncoder
    from lmkbench.models import load_model

    device = args.device
    lengths = [int(x) for x in args.lengths.split(",")]
    out = {"kind": "long", "device": device, "flops_formula": FLOPS_FORMULA, "rows": []}
    with tempfile.TemporaryDirectory(prefix="gpu-long-") as tmp:
        shape = modernbert_folder(Path(tmp), args.tiny, max(lengths))
        out["model_shape"] = shape
        loaded = load_model(tmp, device=device, progress=False)
        weights = sum(p.numel() * p.element_size() for p in loaded.model.parameters()) / 2 ** 30
        out["weights_gib"] = round(weights, 3)
        out["peak_tflops"] = {dt: round(gemm_tflops(device, dt, args.gemm_n), 2) for dt in args.dtypes.split(",")}
        print(f"model: {shape['num_hidden_layers']} layers, d={shape['hidden_size']}, {shape['parameters'] / 1e6:.1f}M "
              f"parameters ({weights:.2f} GiB fp32); GEMM peak {out['peak_tflops']} TFLOP/s\n{FLOPS_FORMULA}", flush=True)
        texts_by_len = {L: word_texts(loaded.tokenizer, args.texts, L) for L in lengths}
        for dtype in args.dtypes.split(","):
            for L in lengths:
                row = timed_encode(lambda: PooledEncoder(loaded, device=device, dtype=dtype, max_length=L,
                                                         cache_dir=False, progress=False),
                                   texts_by_len[L], ["mean"], device, args.reps)
                flops = long_flops(shape, L) * row["padded_tokens"] / L        # rows × padded length, as run
                est = flops / (out["peak_tflops"][dtype] * 1e12)
                row.update(length=L, dtype=dtype, texts=args.texts, tokens_per_s=row["tokens"] / row["wall_s"],
                           ms_per_token=1e3 * row["wall_s"] / row["tokens"], tflops=flops / row["wall_s"] / 1e12,
                           share_of_gemm_estimate=est / row["wall_s"],
                           mem_over_weights_gib=(row["peak_mem_gib"] - weights) if row["peak_mem_gib"] else None)
                out["rows"].append(row)
                mem = f"peak {row['peak_mem_gib']:.2f} GiB" if row["peak_mem_gib"] is not None else "peak mem n/a (CPU)"
                print(f"long {dtype:<4} L={L:<6} {row['tokens']:>7} tokens {row['wall_s']:8.3f} s "
                      f"{row['tokens_per_s']:>10.0f} tok/s {row['tflops']:7.2f} TFLOP/s "
                      f"{100 * row['share_of_gemm_estimate']:5.1f}% of estimate, {mem}", flush=True)
    by = {(r["dtype"], r["length"]): r for r in out["rows"]}
    if len(lengths) > 1:
        hi, lo = max(lengths), sorted(lengths)[-2]
        out["ms_per_token_ratio"] = {dt: by[(dt, hi)]["ms_per_token"] / by[(dt, lo)]["ms_per_token"]
                                     for dt in args.dtypes.split(",")}
        out["ms_per_token_ratio_lengths"] = [hi, lo]
        print(f"time per token at {hi} / at {lo}: "
              + ", ".join(f"{dt} {v:.2f}x" for dt, v in out["ms_per_token_ratio"].items()))
    return out


# -- minilm: tokens/s through PooledEncoder ---------------------------------------------------------------
def run_minilm(args) -> dict:
    from lmkbench.encoder import PooledEncoder
    from lmkbench.models import load_model, resolve_model_path

    device = args.device
    loaded = load_model(resolve_model_path("minilm"), device=device, progress=False)
    texts = word_texts(loaded.tokenizer, args.texts, args.words)
    poolings = args.poolings.split(",")
    out = {"kind": "minilm", "device": device, "texts": args.texts, "words_per_text": args.words,
           "poolings": poolings, "max_length": 256, "rows": []}
    for dtype in args.dtypes.split(","):
        row = timed_encode(lambda: PooledEncoder(loaded, device=device, dtype=dtype, cache_dir=False, progress=False),
                           texts, poolings, device, args.reps)
        row.update(dtype=dtype, tokens_per_s=row["tokens"] / row["wall_s"],
                   forward_tokens_per_s=row["tokens"] / max(row["forward_s"], 1e-9))
        out["rows"].append(row)
        print(f"minilm {dtype:<4} {row['tokens']:>8} tokens ({len(poolings)} poolings) {row['wall_s']:7.2f} s: "
              f"{row['tokens_per_s']:>10.0f} tok/s end to end, {row['forward_tokens_per_s']:>10.0f} tok/s forward",
              flush=True)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("what", choices=["long", "minilm"])
    p.add_argument("--device", default="auto", help="auto|cpu|cuda|cuda:N")
    p.add_argument("--dtypes", default="fp32,bf16")
    p.add_argument("--reps", type=int, default=2)
    p.add_argument("--tiny", action="store_true", help="tiny sizes (CPU dry run)")
    p.add_argument("--json", type=Path, help="write the figures here (atomically)")
    p.add_argument("--lengths", default=None, help="long: token lengths (default 512,2048,8192; tiny 128,512)")
    p.add_argument("--texts", type=int, default=None, help="texts per setting (long 2, minilm 4096; tiny 2 / 32)")
    p.add_argument("--words", type=int, default=300, help="minilm: words per text (cut at 256 tokens)")
    p.add_argument("--poolings", default="cls,mean,lmk", help="minilm: poolings (two input families)")
    p.add_argument("--gemm-n", type=int, default=None, help="side of the peak-rate matrix product")
    args = p.parse_args(argv)

    from lmkbench.encoder import resolve_device

    args.device = resolve_device(args.device)
    cuda = args.device.startswith("cuda")
    if args.lengths is None:
        args.lengths = "128,512" if args.tiny else "512,2048,8192"
    if args.texts is None:
        args.texts = {("long", False): 2, ("long", True): 2, ("minilm", False): 4096, ("minilm", True): 32}[
            (args.what, args.tiny)]
    if args.gemm_n is None:
        args.gemm_n = 8192 if cuda else 512
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = False    # fp32 means fp32 (the default; stated, not assumed)
    t0 = time.perf_counter()
    out = run_long(args) if args.what == "long" else run_minilm(args)
    out["seconds"] = round(time.perf_counter() - t0, 2)
    out["gpu"] = torch.cuda.get_device_name() if cuda else None
    out["torch"] = torch.__version__
    if args.json:
        from lmkbench.io import atomic_write_text

        atomic_write_text(args.json, json.dumps(out, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
