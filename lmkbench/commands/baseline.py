"""``lmkbench baseline``: freeze a results folder into a baseline file for ``lmkbench check``."""
from __future__ import annotations

NAME = "baseline"
HELP = "write a baseline file (per-item scores, dataset checksums, model, settings) for `lmkbench check`"
ORDER = 61
DESCRIPTION = """\
Freeze the results under RESULTS_DIR into one JSON baseline: per cell (task x model x pooling) the main
metric and its direction, the per-query / per-item scores, the dataset checksums, the model identity and
the encoder settings. Commit the file; `lmkbench check` compares fresh results with it.

Example:
  lmkbench baseline results/gate -o results/baselines/gate-minilm.json
"""


def add_arguments(parser) -> None:
    parser.add_argument("results_dir", metavar="RESULTS_DIR", help="folder of result files (searched recursively)")
    parser.add_argument("-o", "--output", required=True, metavar="BASELINE.json", help="file to write")


def run(args) -> int:
    from ..gate import write_baseline
    from ..io import check_output_path

    check_output_path(args.output, "-o", results_dirs=[args.results_dir])
    base = write_baseline(args.results_dir, args.output)
    n_items = sum(len(c.items or {}) for c in base.cells)
    print(f"wrote {args.output}: {len(base.cells)} cell(s), {n_items} per-item scores")
    return 0
