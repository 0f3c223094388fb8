"""Training figures (issue 21, item 1): one contrastive training step of MiniLM on SciFact train pairs, fp32 and
bf16 side by side in this process, each step profiled by phase, against the GEMM peaks measured here too.

Two copies of the model start from the same weights and take the same batches (same seed, same dropout
seed per step); their steps alternate (fp32 first on even steps, bf16 first on odd ones) so drifts of a
shared machine hit both. The first step of each is a warm-up (oneDNN primitive creation) and is not timed.

Figures: seconds per step (bf16's ratio is the speed-up, target >= 1.5), real tokens per second and the
share of the dtype's GEMM peak reached (FLOPs = 3 × the forward's, forward plus a backward of twice the
work), the share of the step that is not model math (batch building, tokenisation, tensor assembly), the
loss curves' largest relative difference, and the one-off costs of loading the pairs and mining TF-IDF
negatives. Run alone: ``python benchmarks/bench_train.py [--steps N]``; or through ``run.py --only train``.
"""
from __future__ import annotations

import copy
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Figure, encoder_flops, load_average, require_data  # noqa: E402

#: workload; run.py's SIZES may override any key (quick/full)
DEFAULTS = {"train_steps": 8, "train_batch": 16, "train_doc_length": 128, "train_query_length": 32}
NOT_MODEL = ("data", "tokenize", "tensors")     # the phases that are not model math


def _size(ctx, key: str):
    try:
        value = ctx.size(key)
    except KeyError:
        value = None
    return DEFAULTS[key] if value is None else value


def train(ctx) -> list[Figure]:
    import torch
    from transformers import get_linear_schedule_with_warmup

    from bench_bf16 import _gemm_gflops
    from lmkbench.encoder import cpu_supports_bf16
    from lmkbench.train import TrainConfig, load_training_data, parse_train_pooling
    from lmkbench.train.forward import PooledForward
    from lmkbench.train.trainer import BatchPlan, PhaseTimer, make_optimizer, train_step

    if not ctx.device.startswith("cuda") and not cpu_supports_bf16():
        ctx.log("[train] skipped: this CPU has no native bf16 (AVX-512 BF16 / AMX)")
        return []
    steps, batch = _size(ctx, "train_steps"), _size(ctx, "train_batch")
    qlen, dlen = _size(ctx, "train_query_length"), _size(ctx, "train_doc_length")
    source = f"beir:{require_data('scifact')}#train"

    t0 = time.perf_counter()
    data = load_training_data(source)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    load_training_data(source, hard_negatives=4)
    mining_s = time.perf_counter() - t0 - load_s

    cfg = ctx.loaded.model.config
    d, dff = cfg.hidden_size, cfg.intermediate_size
    shapes = [(4096, d, d), (4096, d, dff), (4096, dff, d)]
    peak = {k: max(_gemm_gflops(ctx.device, dt, *s) for s in shapes)
            for k, dt in (("fp32", torch.float32), ("bf16", torch.bfloat16))}

    tp = parse_train_pooling("mean")
    arms = {}
    for k in ("fp32", "bf16"):
        tc = TrainConfig(model="minilm", pooling="mean", data=source, out=Path("unused"), steps=steps + 1,
                         batch_size=batch, query_max_length=qlen, doc_max_length=dlen, dtype=k, device=ctx.device)
        model = copy.deepcopy(ctx.loaded.model).train()
        fwd = PooledForward(model, ctx.loaded.tokenizer, tp.pooling, device=ctx.device, dtype=k)
        lengths: list[int] = []
        fwd.batch_tensors = _counting(fwd.batch_tensors, lengths)
        opt = make_optimizer(model, tc)
        sched = get_linear_schedule_with_warmup(opt, 1, tc.steps)
        arms[k] = {"cfg": tc, "fwd": fwd, "opt": opt, "sched": sched, "lengths": lengths, "wall": [], "cpu": [],
                   "loss": [], "timer": PhaseTimer(), "tokens": 0, "flops": 0.0}
    plan = BatchPlan(len(data.examples), batch, 0)
    ctx.log(f"[train] MiniLM, SciFact train ({len(data.examples)} pairs), batch {batch}, query {qlen} / document "
            f"{dlen} tokens: {steps} timed steps + 1 warm-up, fp32 and bf16 alternating")
    for step in range(steps + 1):
        for k in (("fp32", "bf16") if step % 2 == 0 else ("bf16", "fp32")):
            a = arms[k]
            a["lengths"].clear()
            torch.manual_seed(step)                       # the same dropout masks for both arms
            timer = a["timer"] if step else None
            ctx.sync()
            w0, c0 = time.perf_counter(), time.process_time()
            loss, _ = train_step(a["fwd"], tp, a["cfg"], plan, step, data.examples, a["opt"], a["sched"], timer)
            ctx.sync()
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            a["loss"].append(loss)
            if step:
                a["wall"].append(wall)
                a["cpu"].append(cpu)
                a["tokens"] += sum(a["lengths"])
                a["flops"] += 3 * encoder_flops(cfg, a["lengths"])
            ctx.log(f"  step {step}{' (warm-up)' if not step else ''} {k}: {wall:.2f} s wall, {cpu:.2f} s cpu, "
                    f"loss {loss:.4f}")

    figs: list[Figure] = []
    per_step = {k: statistics.median(a["wall"]) for k, a in arms.items()}
    total = {k: sum(a["wall"]) for k, a in arms.items()}
    for k in ("fp32", "bf16"):
        a = arms[k]
        phases = {p: round(s / steps, 4) for p, s in a["timer"].seconds.items()}
        tok_s = a["tokens"] / total[k]
        gflops = a["flops"] / total[k] / 1e9
        figs.append(Figure(f"train.step.{k}", per_step[k], "s", None,
                           f"median of {steps} steps; per step by phase: "
                           + ", ".join(f"{p} {s:.3f}" for p, s in phases.items()), "",
                           {"wall_s": [round(x, 4) for x in a["wall"]], "cpu_s": [round(x, 4) for x in a["cpu"]],
                            "phases_s_per_step": phases, "tokens_per_step": a["tokens"] // steps}))
        figs.append(Figure(f"train.tokens_per_s.{k}", tok_s, "tok/s", gflops / peak[k],
                           f"{k} GEMM peak ({peak[k]:.0f} GFLOP/s; {gflops:.0f} GFLOP/s reached at 3 x forward FLOPs)",
                           "", {"gemm_peak_gflops": round(peak[k], 1), "gflops": round(gflops, 1)}))
        timed = sum(a["timer"].seconds.values())
        figs.append(Figure(f"train.not_model_math.{k}", sum(a["timer"].seconds.get(p, 0.0) for p in NOT_MODEL) / timed,
                           "share", None, f"of the step: {' + '.join(NOT_MODEL)} (model: forward, pool, loss, "
                           "backward, clip, optimizer)", "<= 0.05"))
    figs.append(Figure("train.step.bf16_speedup", per_step["bf16"], "s", per_step["fp32"] / per_step["bf16"],
                       f"fp32 step ({per_step['fp32']:.2f} s)", ">= 1.5"))
    rel = max(abs(x - y) / max(abs(x), 1e-9) for x, y in zip(arms["fp32"]["loss"], arms["bf16"]["loss"]))
    figs.append(Figure("train.loss.bf16_vs_fp32.max_rel_diff", rel, "", None,
                       f"{steps + 1} steps, same batches and dropout; fp32 {_curve(arms['fp32']['loss'])} / "
                       f"bf16 {_curve(arms['bf16']['loss'])}", "<= 0.05",
                       {"fp32": arms["fp32"]["loss"], "bf16": arms["bf16"]["loss"]}))
    figs.append(Figure("train.load.scifact_pairs", load_s, "s", None,
                       f"one-off per run: {len(data.examples)} pairs read; TF-IDF mining of 4 negatives adds "
                       f"{mining_s:.2f} s", "", {"mining_s": round(mining_s, 3)}))
    return figs


def _counting(batch_tensors, lengths: list[int]):
    """Wrap ``PooledForward.batch_tensors`` to record each sequence's real (non-pad) length."""
    def wrapped(contents, families, max_length):
        out = batch_tensors(contents, families, max_length)
        lengths.extend(out[1].sum(1).tolist())
        return out
    return wrapped


def _curve(losses: list[float]) -> str:
    return " ".join(f"{x:.3f}" for x in losses)


def main(argv=None) -> int:
    import argparse

    import run

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=DEFAULTS["train_steps"], help="timed steps per dtype")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's own choice)")
    own = p.parse_args(argv)
    DEFAULTS["train_steps"] = own.steps
    ctx = run.Context(run.parse_args(["--device", own.device, "--quick", "--threads", str(own.threads)]))
    print(f"torch threads {ctx.threads}", flush=True)
    before = load_average()
    print(f"load average before {before}", flush=True)
    for fig in train(ctx):
        print(fig.line(), flush=True)
    print(f"load average after {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
