"""Work whose peak memory is measured runs here, in a child process of ``benchmarks/run.py``.

A child's peak resident set size (``getrusage(RUSAGE_SELF).ru_maxrss``, the kernel's high-water mark) belongs
to that work alone, not to whatever the parent loaded before. It prints one JSON object on its last line.

    python benchmarks/child.py long   --docs N --max-length 512 --device cpu --dtype auto --threads T
    python benchmarks/child.py search --docs N --queries Q --dim 384 --k 100 [--naive] --threads T
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path


def rss_now() -> int:
    """Current resident set size in bytes (``/proc/self/statm``)."""
    import os

    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def rss_peak() -> int:
    """Peak resident set size in bytes over the process's life (Linux reports ``ru_maxrss`` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak() -> bool:
    """Reset the kernel's RSS high-water mark (``VmHWM``) so a later :func:`peak_since_reset` covers only
    what follows; Linux ≥ 4.0 (``echo 5 > /proc/self/clear_refs``). False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_since_reset() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return rss_peak()


def long_documents(args) -> dict:
    import torch

    from common import minilm_path, qmsum_doc_texts
    from lmkbench.encoder import PooledEncoder

    texts = qmsum_doc_texts(args.docs or None)
    enc = PooledEncoder(minilm_path(), device=args.device, dtype=args.dtype, max_length=args.max_length,
                        long_policy="windows", cache_dir=False, progress=False)
    enc.encode(["warm up"], ["mean"])
    base = rss_now()
    resettable = reset_peak()
    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    res = enc.encode(texts, ["mean"])
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    out = {"docs": len(texts), "chars": sum(map(len, texts)), "tokens": res.stats.tokens,
           "sequences": res.stats.sequences, "batches": res.stats.batches, "wall_s": wall,
           "tokenize_s": res.stats.tokenize_s, "padding_fraction": 1 - res.stats.tokens / res.stats.padded_tokens,
           "rss_before_encode": base, "peak_rss": rss_peak(), "token_budget": enc.token_budget,
           "peak_rss_during_encode": peak_since_reset() if resettable else None}
    if args.device.startswith("cuda"):
        out["gpu_peak_bytes"] = torch.cuda.max_memory_allocated()
    return out


def search(args) -> dict:
    import numpy as np
    import torch

    from lmkbench.search import top_k

    rng = np.random.default_rng(0)

    def unit(n):
        x = rng.standard_normal((n, args.dim), dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        return x

    corpus, queries = unit(args.docs), unit(args.queries)
    base = rss_now()
    resettable = reset_peak()
    t0 = time.perf_counter()
    if args.naive:  # the whole score matrix at once, then one top-k: memory grows with queries × corpus
        scores = torch.from_numpy(queries) @ torch.from_numpy(corpus).T
        s, i = torch.topk(scores, args.k, dim=1)
        s, i = s.numpy(), i.numpy()
    else:
        s, i = top_k(queries, corpus, args.k, device=args.device)
    wall = time.perf_counter() - t0
    # a fingerprint of the answer so the parent can check chunked == naive
    return {"docs": args.docs, "queries": args.queries, "dim": args.dim, "k": args.k, "naive": args.naive,
            "wall_s": wall, "rss_before_search": base, "inputs_bytes": corpus.nbytes + queries.nbytes,
            "peak_rss": peak_since_reset() if resettable else rss_peak(), "peak_reset": resettable,
            "top1": i[:, 0].tolist()[:50], "checksum": int(i.astype(np.int64).sum() % 1_000_003)}


def main(argv=None) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=("long", "search"))
    p.add_argument("--docs", type=int)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--dim", type=int, default=384)
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--naive", action="store_true")
    p.add_argument("--max-length", type=int, default=512)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="auto")
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    out = long_documents(args) if args.what == "long" else search(args)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
