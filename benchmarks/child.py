"""Work whose peak memory is measured runs here, in a child process of ``benchmarks/run.py``.

A child's peak resident set size (the kernel's high-water mark ``VmHWM`` of its own address space) belongs to
that work alone, not to whatever the parent loaded before. (Not ``getrusage().ru_maxrss``: Linux carries
that across fork and exec, so a child of a large parent starts with the parent's peak.) The mark is read
before the measured step, reset, and read again, so the step's own peak is known as well as the
process's. It prints one JSON object on its last line.

    python benchmarks/child.py long   --docs N --max-length 512 --device cpu --dtype auto --threads T
    python benchmarks/child.py search --docs N --queries Q --dim 384 --k 100 [--naive] --threads T
    python benchmarks/child.py run [--baseline-dir D] -- run --model M --task T --out O ...   (lmkbench CLI)
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


def peak_hwm() -> int:
    """Peak resident set size in bytes since the process started or since :func:`reset_peak`."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # not Linux: the best there is


def reset_peak() -> bool:
    """Reset the kernel's RSS high-water mark (Linux ≥ 4.0: ``echo 5 > /proc/self/clear_refs``)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def long_documents(args) -> dict:
    import torch

    from common import minilm_path, qmsum_doc_texts
    from lmkbench.encoder import PooledEncoder

    texts = qmsum_doc_texts(args.docs or None)
    enc = PooledEncoder(minilm_path(), device=args.device, dtype=args.dtype, max_length=args.max_length,
                        long_policy="windows", cache_dir=False, progress=False)
    enc.encode(["warm up"], ["mean"])
    base, load_peak = rss_now(), peak_hwm()
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
           "rss_before_encode": base, "peak_rss_before_encode": load_peak, "token_budget": enc.token_budget,
           "peak_rss_during_encode": peak_hwm() if resettable else None,
           "peak_rss": max(load_peak, peak_hwm())}
    if args.device.startswith("cuda"):
        out["gpu_peak_bytes"] = torch.cuda.max_memory_allocated()
    return out


def search(args) -> dict:
    import numpy as np
    import torch

    if args.baseline_dir:  # lmkbench as of another revision (see run.py --baseline)
        sys.path.insert(0, args.baseline_dir)
        from lmkbench_base.search import top_k
    else:
        from lmkbench.search import top_k

    rng = np.random.default_rng(0)

    def unit(n):
        x = rng.standard_normal((n, args.dim), dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        return x

    corpus, queries = unit(args.docs), unit(args.queries)
    base, setup_peak = rss_now(), peak_hwm()
    resettable = reset_peak()
    t0 = time.perf_counter()
    if args.naive:  # the whole score matrix at once, then one top-k: memory grows with queries × corpus
        scores = torch.from_numpy(queries).to(args.device) @ torch.from_numpy(corpus).to(args.device).T
        s, i = torch.topk(scores, args.k, dim=1)
        s, i = s.cpu().numpy(), i.cpu().numpy()
    else:
        s, i = top_k(queries, corpus, args.k, device=args.device)
    wall = time.perf_counter() - t0
    # a fingerprint of the answer so the parent can check chunked == naive
    return {"docs": args.docs, "queries": args.queries, "dim": args.dim, "k": args.k, "naive": args.naive,
            "wall_s": wall, "rss_before_search": base, "inputs_bytes": corpus.nbytes + queries.nbytes,
            "peak_rss": peak_hwm() if resettable else max(setup_peak, peak_hwm()), "peak_reset": resettable,
            "top1": i[:, 0].tolist()[:50], "checksum": int(i.astype(np.int64).sum() % 1_000_003)}


def cli_run(args) -> dict:
    """One ``lmkbench ...`` command in this process; its peak RSS, wall time and what its results say."""
    if args.baseline_dir:  # lmkbench as of another revision (see run.py --baseline)
        sys.path.insert(0, args.baseline_dir)
        from lmkbench_base.cli import main as cli_main
    else:
        from lmkbench.cli import main as cli_main
    argv = args.rest
    t0 = time.perf_counter()
    rc = cli_main(argv)
    wall = time.perf_counter() - t0
    if rc != 0:
        raise SystemExit(f"lmkbench exited {rc}")
    out = Path(argv[argv.index("--out") + 1])
    recs = [json.loads(p.read_text()) for p in sorted(out.rglob("*.json")) if p.parent.parent.parent == out]
    meta = recs[0]["meta"]
    enc = meta.get("encode_stats", {})
    timings = meta.get("timings", {})
    corpus = enc.get("corpus", {})
    sets = list(enc.values())
    return {"peak_rss": peak_hwm(), "wall_s": wall, "load_s": timings.get("load_s", 0.0),
            "encode_corpus_s": timings.get("encode_corpus_s", 0.0), "evaluate_s": timings.get("evaluate_s", 0.0),
            "corpus_shards": corpus.get("shards", 0),
            "encode_total_s": sum(v for k, v in timings.items() if k.startswith("encode_")),
            "corpus_tokens": sum(corpus.get("per_family_tokens", {}).values()) or corpus.get("tokens", 0),
            "shards_total": sum(s.get("shards", 0) for s in sets),
            "shards_reused": sum(s.get("shards_reused", 0) for s in sets),
            "shards_per_slot": sum(s.get("shards", 0) for s in sets),
            "shards_encoded_per_slot": sum(s.get("shards", 0) - s.get("shards_reused", 0) for s in sets),
            "ndcg_at_10": {r["pooling"]: r["metrics"]["ndcg_at_10"] for r in recs}}


def main(argv=None) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=("long", "search", "run"))
    p.add_argument("--docs", type=int)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--dim", type=int, default=384)
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--naive", action="store_true")
    p.add_argument("--max-length", type=int, default=512)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="auto")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--baseline-dir", default=None, help="folder holding lmkbench_base (search, run)")
    argv = list(sys.argv[1:] if argv is None else argv)
    rest = argv[argv.index("--") + 1:] if "--" in argv else []   # run: the lmkbench command line after --
    args = p.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    args.rest = rest
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    out = {"long": long_documents, "search": search, "run": cli_run}[args.what](args)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
