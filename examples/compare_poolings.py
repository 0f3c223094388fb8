"""Compare CLS, mean and LMK pooling of one model on a few tasks from Python, then export for mteb and ranx.

    python examples/compare_poolings.py                                   # MiniLM on bbc_retrieval (offline)
    python examples/compare_poolings.py --model PATH --task beir:PATH --out runs/example
"""
from __future__ import annotations

import argparse

import lmkbench


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="minilm")
    p.add_argument("--task", action="append", help="task spec (repeatable; default: bbc_retrieval)")
    p.add_argument("--pooling", default="cls,mean,lmk")
    p.add_argument("--out", default="runs/example")
    p.add_argument("--max-length", type=int, default=256)
    args = p.parse_args(argv)

    comparison = lmkbench.api.evaluate(model=args.model, poolings=args.pooling.split(","),
                                       tasks=args.task or ["bbc_retrieval"], out=args.out,
                                       max_length=args.max_length, device="cpu")
    print(comparison)                                           # the table `lmkbench compare` prints
    for row in comparison.select(bucket="all"):
        if not row.is_baseline:
            p = f"{row.p_adj:.3g}" if row.p_adj is not None else f"not tested (n = {row.n_paired})"
            print(f"{row.task}: {row.pooling} vs {comparison.settings['baseline']}: Δ {row.mean_diff:+.4f}, p = {p}")
    print(f"{len(lmkbench.load_results(args.out))} result files in {args.out}")
    print(lmkbench.export_results(args.out, "ranx", f"{args.out}-ranx").summary().splitlines()[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
