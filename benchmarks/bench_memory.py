"""Memory figures, measured in child processes (``child.py``): long documents and exact search."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from common import Figure

GIB = 2**30
MIB = 2**20


def run_child(ctx, *args: str) -> dict:
    cmd = [sys.executable, str(Path(__file__).with_name("child.py")), *args, "--threads", str(ctx.threads)]
    ctx.log("  $ " + " ".join(cmd[1:]))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"child failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def long_documents(ctx) -> list[Figure]:
    """Figure 6: QMSum transcripts with ``--long windows`` at 512-token windows: peak RSS and throughput."""
    n = ctx.size("long_docs")
    ctx.log(f"[6] long documents: {n or 'all'} QMSum transcripts, --long windows, max length {ctx.max_length}")
    r = run_child(ctx, "long", "--docs", str(n or 0), "--max-length", str(ctx.max_length),
                  "--device", ctx.device, "--dtype", ctx.dtype)
    tps = r["tokens"] / r["wall_s"]
    figs = [Figure("long.windows.peak_rss", r["peak_rss"] / GIB, "GiB", r["peak_rss"] / (4 * GIB),
                   f"the 4 GiB limit (RSS before encoding {r['rss_before_encode'] / GIB:.2f} GiB; "
                   f"{r['docs']} docs, {r['chars']:,} chars, {r['sequences']} windows)", "< 1", r)]
    short = getattr(ctx, "throughput_lmk", None)
    figs.append(Figure("long.windows.tokens_per_s", tps, "tok/s", tps / short if short else None,
                       "short-text throughput of figure 1 (same run)" if short else "(figure 1 not run)", "", {}))
    if "gpu_peak_bytes" in r:
        figs.append(Figure("long.windows.gpu_peak", r["gpu_peak_bytes"] / GIB, "GiB", None, "torch.cuda.max_memory_allocated"))
    return figs


def search(ctx) -> list[Figure]:
    """Figure 7: exact top-100 over random unit vectors, chunked (lmkbench.search.top_k) vs the whole score
    matrix at once; the chunked extra memory must not grow with the corpus."""
    docs, queries = ctx.size("search_docs"), ctx.size("search_queries")
    ctx.log(f"[7] search: top-100 over {docs:,} × 384 unit vectors for {queries:,} queries")
    base = ["--queries", str(queries), "--dim", "384", "--k", "100", "--device", ctx.device]
    chunked = run_child(ctx, "search", "--docs", str(docs), *base)
    naive = run_child(ctx, "search", "--docs", str(docs), *base, "--naive")
    half = run_child(ctx, "search", "--docs", str(docs // 2), *base)
    extra = {k: max(r["peak_rss"] - r["rss_before_search"], 0) for k, r in
             (("chunked", chunked), ("naive", naive), ("half", half))}
    same = chunked["checksum"] == naive["checksum"] and chunked["top1"] == naive["top1"]
    before = []
    if ctx.baseline_dir:
        b = run_child(ctx, "search", "--docs", str(docs), *base, "--baseline-dir", str(ctx.baseline_dir))
        bh = run_child(ctx, "search", "--docs", str(docs // 2), *base, "--baseline-dir", str(ctx.baseline_dir))
        bx, bhx = b["peak_rss"] - b["rss_before_search"], bh["peak_rss"] - bh["rss_before_search"]
        before = [Figure(f"search.top100.extra_mem@{ctx.baseline_rev}", bx / MIB, "MiB", bx / max(extra["chunked"], 1),
                         f"this checkout ({extra['chunked'] / MIB:.0f} MiB; ratio > 1: less memory now); "
                         f"its growth from {docs // 2:,} docs {bx / max(bhx, 1):.3f}x, time {b['wall_s']:.2f} s", "",
                         {"full": b, "half": bh})]
    return before + [
        Figure("search.top100.time", chunked["wall_s"], "s", chunked["wall_s"] / naive["wall_s"],
               f"one full score matrix + topk ({naive['wall_s']:.2f} s); same top-100: {same}", "",
               {"chunked": chunked, "naive": naive}),
        Figure("search.top100.extra_mem", extra["chunked"] / MIB, "MiB", extra["chunked"] / max(extra["naive"], 1),
               f"full score matrix ({extra['naive'] / MIB:.0f} MiB; queries × docs × 4 B = "
               f"{queries * docs * 4 / MIB:.0f} MiB)", "< 1", extra),
        Figure("search.top100.extra_mem_growth", extra["chunked"] / MIB, "MiB", extra["chunked"] / max(extra["half"], 1),
               f"half the corpus ({extra['half'] / MIB:.0f} MiB at {docs // 2:,} docs; does not grow: ≈1)", "<= 1.2",
               {"half": half}),
    ]
