"""``lmkbench leaderboard``: run a models × poolings × tasks grid from a YAML config and rank it."""
from __future__ import annotations

NAME = "leaderboard"
HELP = "run a grid of models x poolings x tasks from a YAML config; write a ranked CSV/HTML leaderboard"
ORDER = 50
DESCRIPTION = """\
Run every cell of the grid a YAML config names (models x poolings x tasks/suites) through the same runner
as `lmkbench run`: one result file per cell, finished cells skipped, embeddings cached, so an interrupted
leaderboard resumes where it stopped. Then rank the systems (model x pooling) and write
OUT/leaderboard.csv, OUT/leaderboard.json and a self-contained, sortable OUT/leaderboard.html.

Columns: significance-aware rank (1 + systems significantly better, Holm-corrected paired tests), the
mean over tasks, the mean per task group (short retrieval, long retrieval, synthetic long-context,
clustering, classification) and every task's score with the rank on that task.

Config (see configs/leaderboard-example.yaml):
  title: My leaderboard
  results: results            # result store (cells)
  out: results                # where leaderboard.* go
  models: [minilm]
  poolings: [cls, mean, lmk]
  tasks: [bbc_retrieval]
  suites: [default]
  settings: {max_length: 512, long_policy: truncate, device: auto}

Across machines: --shard I/N computes only the (model, task) pairs whose grid index is I modulo N and
writes their cells (no ranking); run N such jobs (e.g. a SLURM array) on a shared results folder, then rank
with --no-run. See the README, "Leaderboard grids across machines".

examples:
  lmkbench leaderboard --config configs/leaderboard-example.yaml
  lmkbench leaderboard --config configs/leaderboard-example.yaml --no-run   # rank what exists
  lmkbench leaderboard --config grid.yaml --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT
"""


def add_arguments(parser) -> None:
    parser.add_argument("--config", required=True, metavar="FILE", help="leaderboard YAML config")
    parser.add_argument("--results", default=None, metavar="DIR", help="result store (overrides the config's 'results')")
    parser.add_argument("--out", default=None, metavar="DIR", help="output folder (overrides the config's 'out')")
    parser.add_argument("--no-run", action="store_true", help="do not compute missing cells; rank what exists")
    parser.add_argument("--overwrite", action="store_true", help="recompute cells that already have a result")
    parser.add_argument("--device", default=None, help="override the config's device (auto|cpu|cuda|cuda:N)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--shard", default=None, metavar="I/N",
                        help="compute only this job's share of the grid (0 <= I < N) and do not rank")


def run(args) -> int:
    from pathlib import Path

    from ..errors import LmkbenchError
    from ..io import check_output_dir
    from ..leaderboard import load_config, make_leaderboard, write_outputs

    config = load_config(args.config)
    if args.results:
        config.results = Path(args.results)
    if args.out:
        config.out = Path(args.out)
    overrides = {"device": args.device} if args.device else None
    check_output_dir(config.results, "results folder")     # output paths before any work
    if args.shard:
        from ..leaderboard import parse_shard, resolve_grid_tasks, run_grid

        shard = parse_shard(args.shard)
        if args.no_run:
            raise LmkbenchError("--shard computes cells; rank them afterwards with --no-run alone")
        done = run_grid(config, resolve_grid_tasks(config), overwrite=args.overwrite, progress=not args.quiet,
                        overrides=overrides, shard=shard)
        print(f"shard {shard[0]}/{shard[1]}: {done.computed} cell(s) computed under {config.results}"
              + (f"; {len(done.failures)} failed: " + "; ".join(done.failures) if done.failures else ""))
        print("when every shard is done: lmkbench leaderboard --config ... --no-run")
        return 1 if done.failures else 0
    check_output_dir(config.out, "out folder")
    lb = make_leaderboard(config, run=not args.no_run, overwrite=args.overwrite, progress=not args.quiet,
                          overrides=overrides)
    print(lb.to_dataframe().to_string(index=False, float_format=lambda v: f"{v:.4f}", max_cols=12))
    for note in lb.notes:
        print(f"note: {note}")
    if lb.missing:
        print(f"missing cells ({len(lb.missing)}): {', '.join(lb.missing[:10])}{' ...' if len(lb.missing) > 10 else ''}")
    paths = write_outputs(lb, config.out)
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0
