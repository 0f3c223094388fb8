"""bf16 figures (issue: CPU bf16): the machine's GEMM peaks at the model's shapes, the forward pass's share of
them, lmkbench bf16 vs fp32 vs sentence-transformers fp32 vs ``mteb.evaluate`` fp32, and how far bf16 moves
the results (minimum cosine to fp32 embeddings, NDCG@10 difference and the share of queries whose top-10
changes, on a SciFact subset and on QMSum test).

Runs on CPU where the CPU has native bf16 (AVX-512 BF16 / AMX) and on CUDA; elsewhere it says why not.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path


from common import Figure, encoder_flops, interleaved, require_data, scifact_doc_texts, scifact_subset_folder


def _gemm_gflops(device: str, dtype, m: int, k: int, n: int, reps: int = 20) -> float:
    import torch

    a = torch.randn(m, k, device=device).to(dtype)
    b = torch.randn(k, n, device=device).to(dtype)
    for _ in range(3):
        torch.mm(a, b)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(reps):
        torch.mm(a, b)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return 2.0 * m * k * n * reps / (time.perf_counter() - t) / 1e9


def _forward_tok_s(ctx, dtype: str, rows: int = 8, width: int = 512, reps: int = 5) -> float:
    import torch

    from lmkbench.encoder import autocast_for

    model = ctx.loaded.model
    ids = torch.randint(1000, 20000, (rows, width), device=ctx.device)
    with torch.inference_mode(), autocast_for(ctx.device, dtype):
        for _ in range(2):
            model(input_ids=ids)
        ctx.sync()
        t = time.perf_counter()
        for _ in range(reps):
            model(input_ids=ids)
        ctx.sync()
    return rows * width * reps / (time.perf_counter() - t)


def _run(ctx, folder: Path, out: Path, dtype: str, long_policy: str = "truncate") -> dict:
    from lmkbench.cli import main
    from lmkbench.results import iter_results

    code = main(["run", "--model", ctx.model_path, "--pooling", "mean", "--task", f"beir:{folder}", "--out", str(out),
                 "--max-length", str(ctx.max_length), "--no-cache", "--quiet", "--device", ctx.device, "--dtype", dtype,
                 "--long", long_policy])
    assert code == 0
    (rec,) = list(iter_results(out))
    top10 = {}
    for trec in out.rglob("*.trec"):
        for line in trec.read_text().splitlines():
            q, _, d, rank, *_ = line.split()
            if int(rank) <= 10:
                top10.setdefault(q, set()).add(d)
    return {"ndcg": rec.metrics["ndcg_at_10"], "top10": top10, "seconds": rec.meta.timings}


def _agreement(ctx, name: str, folder: Path, tmp: Path, long_policy: str) -> list[Figure]:
    a = _run(ctx, folder, tmp / f"{name}-fp32", "fp32", long_policy)
    b = _run(ctx, folder, tmp / f"{name}-bf16", "bf16", long_policy)
    changed = sum(a["top10"].get(q) != b["top10"].get(q) for q in a["top10"]) / max(len(a["top10"]), 1)
    return [Figure(f"bf16.{name}.ndcg_at_10.abs_diff", abs(a["ndcg"] - b["ndcg"]), "", None,
                   f"fp32 {a['ndcg']:.5f} vs bf16 {b['ndcg']:.5f} ({long_policy}); top-10 changed for "
                   f"{changed:.1%} of {len(a['top10'])} queries", "<= 0.005",
                   {"fp32": a["ndcg"], "bf16": b["ndcg"], "top10_changed_share": changed,
                    "timings": {"fp32": a["seconds"], "bf16": b["seconds"]}})]


def bf16(ctx) -> list[Figure]:
    import torch

    from lmkbench.encoder import PooledEncoder, cpu_supports_bf16

    if not ctx.device.startswith("cuda") and not cpu_supports_bf16():
        ctx.log("[bf16] skipped: this CPU has no native bf16 (AVX-512 BF16 / AMX)")
        return []
    cfg = ctx.loaded.model.config
    d, dff, t = cfg.hidden_size, cfg.intermediate_size, 4096
    shapes = [(t, d, d), (t, d, dff), (t, dff, d)]          # the model's projections and MLP, 4096 tokens
    ctx.log(f"[bf16] GEMM peaks at {shapes}")
    peak = {name: max(_gemm_gflops(ctx.device, dt, *s) for s in shapes)
            for name, dt in (("fp32", torch.float32), ("bf16", torch.bfloat16))}
    flop_tok = encoder_flops(cfg, [512]) / 512
    fwd = {k: _forward_tok_s(ctx, k) for k in ("fp32", "bf16")}
    figs = [Figure(f"bf16.gemm_peak.{k}", peak[k], "GFLOP/s", None, f"max over shapes {shapes}", "") for k in peak]
    for k in ("fp32", "bf16"):
        share = fwd[k] * flop_tok / 1e9 / peak[k]
        figs.append(Figure(f"bf16.forward_share.{k}", fwd[k], "tok/s", share,
                           f"{k} GEMM peak ({peak[k]:.0f} GFLOP/s; {flop_tok / 1e6:.1f} MFLOP/token at 8 × 512)",
                           ">= 0.8" if k == "fp32" else ""))
    figs.append(Figure("bf16.forward_speedup", fwd["bf16"], "tok/s", fwd["bf16"] / fwd["fp32"],
                       f"fp32 forward ({fwd['fp32']:,.0f} tok/s)", ""))

    # encode throughput: lmkbench bf16 / fp32 and sentence-transformers fp32, alternating
    from sentence_transformers import SentenceTransformer

    texts = scifact_doc_texts(ctx.size("throughput_docs"))
    st = SentenceTransformer(ctx.model_path, device=ctx.device)
    st.max_seq_length = ctx.max_length
    encs = {k: PooledEncoder(ctx.loaded, device=ctx.device, dtype=k, max_length=ctx.max_length, cache_dir=False,
                             progress=False) for k in ("fp32", "bf16")}
    for e in encs.values():
        e.encode(texts[:16], ["mean"])
    st.encode(texts[:16], batch_size=32)
    cases = {"sentence-transformers fp32": lambda: st.encode(texts, batch_size=32, normalize_embeddings=True),
             "lmkbench fp32": lambda: encs["fp32"].encode(texts, ["mean"]),
             "lmkbench bf16": lambda: encs["bf16"].encode(texts, ["mean"])}
    ctx.log(f"[bf16] encode {len(texts)} SciFact abstracts: lmkbench bf16 / fp32 / sentence-transformers fp32")
    tm = interleaved(cases, ctx.reps, ctx.sync, ctx.log)
    a, b = tm["lmkbench fp32"].result.embeddings["mean"], tm["lmkbench bf16"].result.embeddings["mean"]
    cos = (a * b).sum(1)
    tokens = tm["lmkbench fp32"].result.stats.tokens
    w = {k: v.wall_median for k, v in tm.items()}
    figs += [Figure("bf16.encode.vs_fp32", tokens / w["lmkbench bf16"], "tok/s", w["lmkbench fp32"] / w["lmkbench bf16"],
                    f"lmkbench fp32 ({tokens / w['lmkbench fp32']:,.0f} tok/s)", "",
                    {k: v.as_dict() for k, v in tm.items()}),
             Figure("bf16.encode.vs_st_fp32", tokens / w["lmkbench bf16"], "tok/s",
                    w["sentence-transformers fp32"] / w["lmkbench bf16"],
                    f"sentence-transformers fp32 ({tokens / w['sentence-transformers fp32']:,.0f} tok/s)", ""),
             Figure("bf16.embeddings.min_cos", float(cos.min()), "cos", None,
                    f"lmkbench fp32 embeddings of the same {len(texts)} texts (mean {cos.mean():.5f})", ">= 0.99")]

    # end to end: lmkbench run bf16 vs mteb.evaluate fp32, and agreement on SciFact and QMSum test
    tmp = Path(tempfile.mkdtemp(prefix="lmkbench-bf16-"))
    try:
        folder = scifact_subset_folder(tmp / "scifact", ctx.size("task_queries"), ctx.size("task_other_docs"))
        figs += e2e_vs_mteb(ctx, folder, tmp)
        figs += _agreement(ctx, "scifact", folder, tmp, "truncate")
        figs += _agreement(ctx, "qmsum_test", require_data("qmsum_testsplit"), tmp,
                           "truncate" if ctx.mode == "quick" else "windows")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return figs


def e2e_vs_mteb(ctx, folder: Path, tmp: Path) -> list[Figure]:
    import datasets
    import mteb
    from sentence_transformers import SentenceTransformer

    from lmkbench.mteb_adapter import local_beir_task
    from bench_run import _silenced

    datasets.disable_progress_bars()
    runs = iter(range(1000))

    def ours():
        return _run(ctx, folder, tmp / f"e2e-{next(runs)}", "bf16")["ndcg"]

    def theirs():
        st = SentenceTransformer(ctx.model_path, device=ctx.device)
        st.max_seq_length = ctx.max_length
        res = mteb.evaluate(st, local_beir_task(folder, "LmkbenchBf16Retrieval"), cache=None, show_progress_bar=False,
                            encode_kwargs={"batch_size": 32, "show_progress_bar": False})
        return res.task_results[0].scores["test"][0]["ndcg_at_10"]

    ctx.log("[bf16] end to end: lmkbench run bf16 vs mteb.evaluate fp32")
    t = interleaved({"mteb.evaluate fp32": _silenced(theirs), "lmkbench run bf16": _silenced(ours)},
                    ctx.e2e_reps, ctx.sync, ctx.log)
    a, b = t["lmkbench run bf16"].result, t["mteb.evaluate fp32"].result
    return [Figure("bf16.e2e.run_vs_mteb_fp32", t["lmkbench run bf16"].wall_median, "s",
                   t["mteb.evaluate fp32"].wall_median / t["lmkbench run bf16"].wall_median,
                   f"mteb.evaluate fp32 ({t['mteb.evaluate fp32'].wall_median:.1f} s); NDCG@10 bf16 {a:.5f} vs "
                   f"mteb fp32 {b:.5f}", ">= 2", {k: v.as_dict() for k, v in t.items()})]
