"""lmkbench train-matched: one base fine-tuned once per pooling on the same batches, each evaluated with its own."""
from __future__ import annotations

import time
from pathlib import Path

from ._common import check_cache_flags, positive_int
from .train import add_training_arguments, config_kwargs

NAME = "train-matched"
ORDER = 61
HELP = "train one checkpoint per pooling from the same base, data, seed and batch order; evaluate each"
DESCRIPTION = """A fair pooling comparison: every pooling gets its own fine-tuned checkpoint from the same base
model, trained on the same data with the same seed, so every arm sees the same examples in the same batches
at every step (as in the LMK paper, where each pooling is a separately fine-tuned model). Each checkpoint is
then evaluated with its own pooling on the --eval-task / --suite tasks.

No training on the test: before training, every training document (the corpus that crop:/ict: pairs are cut
from) is looked up in every evaluation task's corpus by normalised text hash; a shared document stops the
run unless --allow-overlap, which is then recorded in matched.json, each lmkbench.json and each result.

Writes DIR/models/<base>-<pooling>/ (model folders, resumable: re-running continues or reuses them),
DIR/results/ (one model label per checkpoint), DIR/results_matched/ (the same results under one model
label '<base>-matched', which 'lmkbench compare' and the report pair item by item) and DIR/matched.json.

examples:
  lmkbench train-matched --model minilm --poolings cls,mean,lmk:train_g=32+64+128+256 \\
      --data beir:../shared/data/scifact#train --out runs/matched --steps 150 --batch-size 16 \\
      --doc-max-length 256 --eval-task beir:../shared/data/scifact --eval-task beir:../shared/data/qmsum_testsplit
  lmkbench compare runs/matched/results_matched --baseline mean
  lmkbench train-matched --model minilm --data "crop:my_corpus/?max_words=96" \
      --seeds 0,1,2 --doc-max-length 128 --query-max-length 32 --dtype bf16 --out runs/seeds --eval-task scifact
"""


def add_arguments(p):
    p.add_argument("--model", required=True, help="base model: HF folder, hub name or alias (minilm)")
    p.add_argument("--poolings", default="cls,mean,lmk:train_g=32+64+128+256",
                   help="training poolings, comma-separated (default cls,mean,lmk:train_g=32+64+128+256)")
    p.add_argument("--data", required=True, help="beir:PATH[#split] | FILE.jsonl | crop:PATH[?…] | ict:PATH[?…] | hf:NAME[@CONFIG][#SPLIT]")
    p.add_argument("--out", required=True, help="experiment folder")
    add_training_arguments(p)
    p.add_argument("--eval-task", action="append", default=[], metavar="TASK", help="task to evaluate on (repeatable)")
    p.add_argument("--suite", action="append", default=[], metavar="NAME", help="suite of tasks to evaluate on")
    p.add_argument("--eval-max-length", type=positive_int, default=None,
                   help="evaluation tokens per text (default: the model's limit)")
    p.add_argument("--positions", default="native", metavar="METHOD",
                   help="evaluation positions method past the model's limit (native, gp, rp, pi, ntk:F, linear:F, "
                        "yarn:F; see 'lmkbench run --help'); training lengths stay --doc-max-length/--query-max-length")
    p.add_argument("--long", dest="long_policy", choices=("truncate", "windows"), default="truncate",
                   help="evaluation of texts longer than the limit (default truncate)")
    p.add_argument("--token-budget", type=positive_int, default=None, help="evaluation batch budget (rows × length)")
    p.add_argument("--cache-dir", default=None, help="embedding cache folder")
    p.add_argument("--no-cache", action="store_true", help="do not use the embedding cache")
    p.add_argument("--overwrite", action="store_true", help="recompute result files that exist (training is reused)")
    p.add_argument("--retrain", action="store_true",
                   help="train again an arm already in DIR/models whose recipe (settings, data content, base model, "
                        "dtype) differs from this call's (default: refuse, naming what differs)")
    p.add_argument("--seeds", type=seed_list, default=None, metavar="S,S,...",
                   help="train every arm once per seed (e.g. 0,1,2; the arms of a seed share its batches); "
                        "matched.json then gives each Δ per seed and its spread (replaces --seed)")
    p.add_argument("--baseline", default=None, metavar="POOLING",
                   help="the arm every Δ in matched.json is taken against (default: mean if an arm, else the first)")
    p.add_argument("--allow-overlap", action="store_true",
                   help="train even where a training document is also in an evaluation task's corpus (recorded)")


def seed_list(text: str) -> list[int]:
    """``0,1,2`` → ``[0, 1, 2]``: distinct integers, each within ``--seed``'s bounds (0 .. torch's largest)."""
    import argparse

    from ..train.hyper import arg_type

    one = arg_type("seed")
    try:
        seeds = [int(x) for x in text.replace("+", ",").split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"expected distinct non-negative integers, got {text!r}")
    return [one(str(x)) for x in seeds]


def run(args) -> int:
    from ..runner import format_summary
    from ..train.matched import run_matched

    tasks = [t.strip() for t in args.eval_task if t.strip()] + [f"suite:{s}" for s in args.suite]
    t0 = time.perf_counter()
    if args.seeds and args.seed is not None:
        from ..errors import LmkbenchError

        raise LmkbenchError(f"give --seeds or --seed {args.seed}, not both")
    check_cache_flags(args)
    train_settings = config_kwargs(args)
    eval_settings = dict(max_length=args.eval_max_length, long_policy=args.long_policy, positions=args.positions,
                         device=args.device,
                         dtype=args.dtype, token_budget=args.token_budget,
                         cache_dir=False if args.no_cache else args.cache_dir, progress=not args.quiet,
                         overwrite=args.overwrite)
    rec = run_matched(args.model, args.poolings, args.data, Path(args.out), train_settings=train_settings,
                      tasks=tasks, eval_settings=eval_settings, allow_overlap=args.allow_overlap,
                      seeds=args.seeds, baseline=args.baseline, retrain=args.retrain)
    for arm in rec["arms"]:
        print(f"{arm['name']}: trained {arm['train_pooling']} {arm['steps']} steps in {arm['train_wall_s']} s"
              f"{' (reused)' if arm['reused'] else ''}; loss {arm['loss_first10']} -> {arm['loss_last10']}"
              + "".join(f"; evaluated ({k}) in {v} s" for k, v in arm.get("eval_wall_s", {}).items()))
    if rec.get("_rows"):
        print(format_summary(rec["_rows"]) + (f"   (seed {rec['seeds'][0]})" if len(rec["seeds"]) > 1 else ""))
    for d in rec.get("deltas", []) if len(rec["seeds"]) > 1 else []:
        print(f"{d['task']} ({d['evaluation']}): {d['pooling']} - {d['baseline']} = {d['mean']:+.4f} over seeds "
              f"{', '.join(f'{k}: {v:+.4f}' for k, v in d['per_seed'].items())} ("
              + (f"sd {d['sd']:.4f}, " if d["sd"] is not None else f"{d['n_seeds']} seed, no spread, ")
              + f"range {d['min']:+.4f} .. {d['max']:+.4f}"
              f"{'; within training noise' if d['within_noise'] else ''})")
    base = rec["deltas"][0]["baseline"] if rec.get("deltas") else (args.baseline or "mean")
    print(f"matched experiment in {Path(args.out).resolve()}  ({time.perf_counter() - t0:.1f} s); "
          f"compare the checkpoints with: lmkbench compare {Path(args.out) / 'results'} --baseline "
          f"'model=*,pooling={base}'   (each arm against the {base} arm of its seed and evaluation; the same "
          f"numbers as the relabelled view {Path(args.out) / 'results_matched'})")
    return 0
