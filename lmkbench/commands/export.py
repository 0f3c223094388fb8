"""``lmkbench export``: write results in another tool's format (mteb's results layout, ranx runs/qrels)."""
from __future__ import annotations

from pathlib import Path

from ..errors import LmkbenchError

NAME = "export"
ORDER = 45
HELP = "export results for mteb (ResultCache layout) or ranx (Run/Qrels TREC files)"
DESCRIPTION = """\
Write the results under RESULTS_DIR (from `lmkbench run`) in another tool's format, into OUT.

formats:
  mteb   OUT/results/lmkbench__<model>__<pooling>/<revision>/<Task>.json + model_meta.json: one mteb model per
         model x pooling; tasks that are mteb tasks (SciFact, Banking77Classification, LEMB*, MultiLongDoc-
         Retrieval, ...) under mteb's task/split names, metric keys and main_score; others as lmkbench.<task>.
         Load with mteb.cache.ResultCache(OUT).load_results(include_remote=False) or mteb.TaskResult.from_disk.
  ranx   OUT/<task>/qrels.trec and OUT/<task>/<model>/<pooling>.trec per retrieval cell, for ranx.compare,
         PyTerrier or trec_eval.

examples:
  lmkbench export results/ --format mteb -o mteb-results/
  lmkbench export results/ --format ranx -o ranx/
"""


def add_arguments(p) -> None:
    p.add_argument("results_dir", metavar="RESULTS_DIR", help="folder of result files (searched recursively)")
    p.add_argument("--format", required=True, choices=["mteb", "ranx"], help="output format")
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--mteb-tasks-only", action="store_true",
                   help="mteb: leave out tasks that are not mteb tasks (default: export them as lmkbench.<task>)")
    p.add_argument("--language", default="eng-Latn",
                   help="mteb: language of tasks mteb does not know (default: eng-Latn)")


def run(args) -> int:
    from ..export import export
    from ..io import check_output_folder

    root = Path(args.results_dir)
    if not root.is_dir():
        raise LmkbenchError(f"results folder not found: {root}")
    check_output_folder(args.out, "-o", inputs=[root])
    options = {"mteb_tasks_only": args.mteb_tasks_only, "language": args.language} if args.format == "mteb" else {}
    report = export(root, args.format, args.out, **options)
    print(report.summary())
    return 0
