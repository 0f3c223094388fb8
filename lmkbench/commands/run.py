"""lmkbench run: evaluate one model with several poolings on tasks."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from ..errors import LmkbenchError
from ._common import add_encoder_arguments, encoder_settings, parse_pooling_arg

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
  lmkbench run --model minilm --pooling mean,chunk:size=256,pool=mean,agg=max,late:size=256 --task qmsum_testsplit --long windows
  lmkbench run --model bm25 --task qmsum_testsplit          # BM25 reference cells (pooling label bm25)

--model bm25[:method=lucene,k1=1.2,b=0.75,stopwords=en,stemmer=english] runs the lexical baseline (bm25s) on
the retrieval tasks (others are skipped); lengths, and the sizes of synthetic tasks, are in --tokenizer's tokens.
"""


def add_arguments(p):
    add_encoder_arguments(p)
    p.add_argument("--task", action="append", default=[], metavar="TASK",
                   help="task spec (repeatable, or comma-separated): beir:PATH[#split], a catalogue name, ...")
    p.add_argument("--suite", action="append", default=[], metavar="NAME", help="a suite of tasks (see 'lmkbench tasks')")
    p.add_argument("--out", default="runs", help="results folder (default: runs/, ignored by git; results/ holds "
                   "the committed experiments)")
    p.add_argument("--overwrite", action="store_true", help="recompute cells that already have a result file")
    p.add_argument("--tokenizer", default=None, metavar="MODEL",
                   help="with --model bm25: the model whose tokenizer counts lengths and sizes synthetic tasks "
                        "(default: minilm)")


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
    import dataclasses

    from ..labels import label_for
    from ..runner import Runner, RunSettings, format_summary
    from ..suites import SuiteRun, plan_runs, run_plan

    from ..bm25 import is_lexical, parse_system

    encoder = encoder_settings(args)
    if is_lexical(args.model):
        parse_system(args.model)  # a bad parameter fails before any data loads
        if args.pooling:
            raise LmkbenchError(f"--model {args.model} is a lexical system: it takes no --pooling")
    elif args.tokenizer:
        raise LmkbenchError("--tokenizer applies to --model bm25 only (a dense model uses its own tokenizer)")
    settings = RunSettings(model=args.model, poolings=None if is_lexical(args.model) else parse_pooling_arg(args.pooling),
                           out_dir=Path(args.out), encoder=encoder, overwrite=args.overwrite, progress=not args.quiet,
                           tokenizer=args.tokenizer)
    t0 = time.perf_counter()
    # a suite may be run a second time with its own variants (the default suite: long tasks extended), unless the
    # user chose a length (lmkbench.suites); lexical systems have no encoder settings
    runs = [SuiteRun(encoder, tuple(task_specs(args)))] if is_lexical(args.model) else plan_runs(task_specs(args), encoder,
                                                                                              poolings=settings.poolings)
    done, runner = run_plan(runs, lambda s: Runner(dataclasses.replace(settings, encoder=s)))
    from ..distributed import is_main_process

    if not is_main_process():
        return 0
    for run_, rows in done:
        if len(done) > 1:
            print(f"-- {run_.variant or 'as asked'} ({label_for(settings.model, run_.settings)}) --")
        print(format_summary(rows))
    print(f"results in {Path(args.out).resolve()}  ({time.perf_counter() - t0:.1f} s)")
    _bf16_hint(args, runner)
    return 0


#: below this many weights outside the embedding table a forward pass is call overhead, not matrix products:
#: a timed bf16/fp32 ratio means nothing there (a 2-layer test BERT measured 28x one call and 0.02x the next)
HINT_MIN_WEIGHTS = 5_000_000
#: a measured speed-up below this is within the timing noise of a short measurement: say nothing
HINT_MIN_GAIN = 1.2


def bf16_hint(model, measure) -> str | None:
    """What ``--dtype bf16`` would gain for ``model``, measured by ``measure()`` (the fp32/bf16 forward time
    ratio), or None: for a model too small for the figure to mean anything (not measured) or a gain too small to
    be told from noise."""
    weights = sum(p.numel() for p in model.parameters())
    embeddings = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    if embeddings is not None:
        weights -= embeddings.weight.numel()
    if weights < HINT_MIN_WEIGHTS:
        return None
    gain = measure()
    if gain < HINT_MIN_GAIN:
        return None
    return (f"hint: this CPU has native bf16; --dtype bf16 runs this model's forward {gain:.1f}x faster here "
            "(fp32 stays the default: it equals the references exactly)")


def _bf16_hint(args, runner) -> None:
    """On a CPU with native bf16, where fp32 was chosen by default, say what --dtype bf16 would gain here."""
    enc = runner._encoder
    if args.quiet or args.dtype != "auto" or enc is None or getattr(enc, "device", "") != "cpu":
        return
    from ..encoder import bf16_speedup, cpu_supports_bf16

    if cpu_supports_bf16():
        model = enc.loaded.model
        hint = bf16_hint(model, lambda: bf16_speedup(model, width=min(256, enc.max_length)))
        if hint:
            print(hint, file=sys.stderr)
