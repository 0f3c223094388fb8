"""Encoding figures: throughput against sentence-transformers, the batching sweep, and corpus-size scaling."""
from __future__ import annotations

import numpy as np

from common import Figure, autocast, encoder_flops, gpu_peak_tflops, interleaved, scifact_doc_texts


def st_padding(texts: list[str], lengths: list[int], batch_size: int = 32) -> tuple[int, int]:
    """Real and padded tokens of sentence-transformers' ``encode`` on these texts.

    Replicates its batching (sentence_transformers/sentence_transformer/model.py: ``np.argsort`` of minus the
    *character* length, then consecutive batches of ``batch_size`` each padded to its longest) with the
    exact token lengths (special tokens included, truncated) lmkbench counted for the same texts.
    """
    order = np.argsort([-len(t) for t in texts])
    lens = np.asarray(lengths)[order]
    padded = sum(int(lens[i:i + batch_size].max()) * len(lens[i:i + batch_size]) for i in range(0, len(lens), batch_size))
    return int(lens.sum()), padded


def throughput_vs_sentence_transformers(ctx) -> list[Figure]:
    """Figure 1: lmkbench ``mean`` vs sentence-transformers ``encode`` (same model, texts, max length, dtype,
    threads), alternating repetitions in this process; plus padding fractions and embedding agreement."""
    from sentence_transformers import SentenceTransformer

    from lmkbench.encoder import PooledEncoder

    texts = scifact_doc_texts(ctx.size("throughput_docs"))
    ml = ctx.max_length
    st = SentenceTransformer(ctx.model_path, device=ctx.device)
    st.max_seq_length = ml
    enc = PooledEncoder(ctx.loaded, device=ctx.device, dtype=ctx.dtype, max_length=ml, cache_dir=False, progress=False)

    def run_st():
        with autocast(ctx.device, ctx.dtype):
            out = st.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_tensor=True)
        return out.float().cpu().numpy()  # bf16 under autocast on CUDA; numpy has no bf16

    def run_lmk():
        return enc.encode(texts, ["mean"])

    cases = {"sentence-transformers": run_st, "lmkbench": run_lmk}
    if ctx.baseline_rev:  # the encoder as of another revision, with its own copy of the model
        from lmkbench_base.encoder import PooledEncoder as BaseEncoder

        base = BaseEncoder(ctx.model_path, device=ctx.device, dtype=ctx.dtype, max_length=ml, cache_dir=False,
                           progress=False)
        cases[f"lmkbench@{ctx.baseline_rev}"] = lambda: base.encode(texts, ["mean"])
    # warm every side (first-call allocations, oneDNN primitive caches) on a few texts
    for fn in (lambda: st.encode(texts[:16], batch_size=32), lambda: enc.encode(texts[:16], ["mean"])):
        fn()
    ctx.log(f"[1] throughput: {len(texts)} SciFact abstracts, max length {ml}")
    t = interleaved(cases, ctx.reps, ctx.sync, ctx.log)
    res = t["lmkbench"].result
    lengths = (np.minimum(res.token_counts, ml - 2) + 2).tolist()
    real, st_padded = st_padding(texts, lengths)
    assert real == res.stats.tokens, (real, res.stats.tokens)
    ours, theirs = t["lmkbench"].wall_median, t["sentence-transformers"].wall_median
    a, b = t["sentence-transformers"].result, res.embeddings["mean"]
    cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    details = {"texts": len(texts), "max_length": ml, "tokens": real, "timings": {k: v.as_dict() for k, v in t.items()},
               "cpu_ratio": t["sentence-transformers"].cpu_median / t["lmkbench"].cpu_median,
               "lmkbench_padding_fraction": 1 - res.stats.tokens / res.stats.padded_tokens,
               "st_padding_fraction": 1 - real / st_padded, "lmkbench_batches": res.stats.batches,
               "st_batches": -(-len(texts) // 32), "token_budget": enc.token_budget, "batch_cost": enc.batch_cost,
               "max_abs_diff": float(np.abs(a - b).max()), "min_cosine": float(cos.min())}
    figs = [
        Figure("encode.tokens_per_s.mean", real / ours, "tok/s", theirs / ours,
               f"sentence-transformers encode ({real / theirs:,.0f} tok/s); cpu-time ratio {details['cpu_ratio']:.3f}",
               ">= 1.3", details),
        Figure("encode.padding_fraction.lmkbench", details["lmkbench_padding_fraction"], "frac",
               None, f"sentence-transformers {details['st_padding_fraction']:.4f} (batch 32, sorted by characters)"),
        Figure("encode.equal_embeddings.min_cos", details["min_cosine"], "cos", None,
               f"sentence-transformers embeddings; max |diff| {details['max_abs_diff']:.2e}",
               ">= 0.999" if ctx.dtype != "fp32" else ">= 0.99999"),
    ]
    if ctx.baseline_rev:
        tb = t[f"lmkbench@{ctx.baseline_rev}"]
        bres = tb.result
        figs.insert(1, Figure(f"encode.tokens_per_s.mean@{ctx.baseline_rev}", real / tb.wall_median, "tok/s",
                              tb.wall_median / ours, f"this checkout ({real / ours:,.0f} tok/s; ratio > 1: faster now); "
                              f"its padding {1 - bres.stats.tokens / bres.stats.padded_tokens:.4f}, "
                              f"vs sentence-transformers {theirs / tb.wall_median:.3f}x", "",
                              {"timings": tb.as_dict(), "batches": bres.stats.batches}))
    peak = gpu_peak_tflops(ctx.device, ctx.peak_tflops)
    flops = encoder_flops(ctx.loaded.model.config, lengths)
    achieved = flops / ours / 1e12
    if peak or ctx.device.startswith("cuda"):
        figs.append(Figure("encode.model_tflops.mean", achieved, "TFLOP/s", achieved / peak if peak else None,
                           f"dense bf16 peak {peak} TFLOP/s" if peak else "no peak known (--peak-tflops)",
                           "", {"model_flops": flops, "peak_tflops": peak}))
    ctx.throughput_lmk = real / ours
    del st
    return figs


def budget_sweep(ctx) -> list[Figure]:
    """Throughput of lmkbench ``mean`` over token budgets and batch costs, relative to the default.

    ``batch_cost=inf`` asks for the fewest batches the budget allows (padding ignored), which is close to
    the plain greedy budget batching lmkbench used before."""
    from lmkbench.encoder import PooledEncoder

    texts = scifact_doc_texts(ctx.size("sweep_docs"))
    ml = ctx.max_length
    default = PooledEncoder(ctx.loaded, device=ctx.device, dtype=ctx.dtype, max_length=ml, cache_dir=False, progress=False)
    configs = {"default": (None, None)}
    cuda = ctx.device.startswith("cuda")
    budgets = (16384, 65536, 131072) if cuda else (4096, 16384, 32768)
    costs = (0, 1024, 4096, 16384, 10**9) if cuda else (0, 64, 256, 1024, 10**9)
    for b in budgets:
        for c in costs:
            if (b, c) != (default.token_budget, default.batch_cost):
                configs[f"budget={b},batch_cost={'inf' if c == 10**9 else c}"] = (b, c)
    encs = {k: PooledEncoder(ctx.loaded, device=ctx.device, dtype=ctx.dtype, max_length=ml, cache_dir=False,
                             progress=False, token_budget=b, batch_cost=c) for k, (b, c) in configs.items()}
    ctx.log(f"[sweep] {len(texts)} SciFact abstracts × {len(encs)} batching settings "
            f"(default: budget {default.token_budget}, batch cost {default.batch_cost})")
    t = interleaved({k: (lambda e=e: e.encode(texts, ["mean"])) for k, e in encs.items()}, ctx.reps, ctx.sync, ctx.log)
    base = t["default"].wall_median
    figs = []
    for k, tim in t.items():
        st = tim.result.stats
        figs.append(Figure(f"sweep.{k}", st.tokens / tim.wall_median, "tok/s", base / tim.wall_median,
                           "the default batching (ratio > 1: faster than default)", "",
                           {"padding_fraction": 1 - st.tokens / st.padded_tokens, "batches": st.batches,
                            "timings": tim.as_dict()}))
    return figs


def scaling(ctx) -> list[Figure]:
    """Encode time for 1×, 2×, 4× nested SciFact subsets; per-text cost relative to 1× should stay ≈ 1."""
    from lmkbench.encoder import PooledEncoder

    base_n = ctx.size("scaling_docs")
    texts = scifact_doc_texts(4 * base_n)
    enc = PooledEncoder(ctx.loaded, device=ctx.device, dtype=ctx.dtype, max_length=ctx.max_length, cache_dir=False,
                        progress=False)
    cases = {f"{m}x": (lambda m=m: enc.encode(texts[:m * base_n], ["mean"])) for m in (1, 2, 4)}
    ctx.log(f"[scaling] {base_n}, {2 * base_n}, {4 * base_n} SciFact abstracts")
    t = interleaved(cases, 1, ctx.sync, ctx.log)
    t1 = t["1x"].wall_median
    tok1 = t["1x"].result.stats.tokens
    figs = []
    for m in (1, 2, 4):
        tm = t[f"{m}x"]
        # per-token cost relative to 1× (tokens, not texts: the subsets differ slightly in mean length)
        rel = (tm.wall_median / tm.result.stats.tokens) / (t1 / tok1)
        figs.append(Figure(f"scaling.encode_s.{m}x_{m * base_n}_docs", tm.wall_median, "s", rel,
                           "per-token time at 1× (linear: 1.0)", "<= 1.2" if m > 1 else "",
                           {"tokens": tm.result.stats.tokens, "timings": tm.as_dict()}))
    return figs
