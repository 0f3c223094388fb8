"""lmkbench run: evaluate one model with several poolings on tasks."""
from __future__ import annotations

import time
from pathlib import Path

from ..errors import LmkbenchError
from ._common import add_encoder_arguments, encoder_kwargs, parse_pooling_arg

NAME = "run"
ORDER = 10
HELP = "evaluate a model with several poolings on tasks; one result file per task × pooling"
DESCRIPTION = """Evaluate a model with several poolings on one or more tasks.

Tasks: beir:PATH[#split] (a local BEIR folder: corpus.jsonl[.gz], queries.jsonl[.gz], qrels/SPLIT.tsv),
a task name from 'lmkbench tasks', or --suite NAME. Results go to OUT/<task>/<model>/<pooling>.json
(plus a TREC run file); finished cells are skipped unless --overwrite.

examples:
  lmkbench run --model minilm --pooling cls,mean,lmk --task beir:../shared/data/scifact
  lmkbench run --model minilm --pooling lmk:g=64 --task beir:../shared/data/qmsum_longembed --long windows
  lmkbench run --model minilm --suite default
"""


def add_arguments(p):
    add_encoder_arguments(p)
    p.add_argument("--task", action="append", default=[], metavar="TASK",
                   help="task spec (repeatable, or comma-separated): beir:PATH[#split], a catalogue name, ...")
    p.add_argument("--suite", action="append", default=[], metavar="NAME", help="a suite of tasks (see 'lmkbench tasks')")
    p.add_argument("--out", default="results", help="results folder (default: results/)")
    p.add_argument("--overwrite", action="store_true", help="recompute cells that already have a result file")


def task_specs(args) -> list[str]:
    specs = [s.strip() for t in args.task for s in _split_tasks(t) if s.strip()]
    specs += [f"suite:{s}" for s in args.suite]
    if not specs:
        raise LmkbenchError("name at least one --task or --suite")
    return specs


def _split_tasks(text: str) -> list[str]:
    # a path may contain commas only rarely; split on commas that start a new scheme-or-name
    return text.split(",") if "," in text and not text.startswith(("beir:", "/")) else [text]


def run(args) -> int:
    from ..runner import Runner, RunSettings, format_summary

    kw = encoder_kwargs(args)
    settings = RunSettings(model=args.model, poolings=parse_pooling_arg(args.pooling), out_dir=Path(args.out),
                           overwrite=args.overwrite, **kw)
    t0 = time.perf_counter()
    runner = Runner(settings)
    rows = runner.run(task_specs(args))
    from ..distributed import is_main_process

    if not is_main_process():
        return 0
    print(format_summary(rows))
    print(f"results in {Path(args.out).resolve()}  ({time.perf_counter() - t0:.1f} s)")
    return 0
