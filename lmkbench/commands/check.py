"""``lmkbench check``: the CI regression gate (fresh results against a committed baseline)."""
from __future__ import annotations

NAME = "check"
HELP = "CI gate: fail (exit 1) when results are significantly worse than a committed baseline"
ORDER = 60
DESCRIPTION = """\
Compare the results under RESULTS_DIR with a baseline written by `lmkbench baseline`, cell by cell
(task x model x pooling). Each cell's per-query (per-item) scores are paired with the baseline's and
tested (--test; 0/1 outcomes use McNemar's test); all p-values are corrected together (--correction, Holm
by default).

Exit 1 when some cell is a REGRESSION: adjusted p < --alpha AND the main metric is worse by at least
--min-delta (in the metric's direction: greater-is-better unless declared otherwise). Exit 0 otherwise.
Exit 2 on unusable input: a baseline cell without a result, different query/item ids, a different
dataset checksum, a malformed baseline (unknown key, non-finite value), an untestable cell (no per-item
scores, fewer than two non-NaN pairs). Changed model identity or encoder settings print a warning.

{methods}

The table shows per cell: baseline, now, delta, paired n, test, raw and adjusted p, and the verdict
(same | better | better (n.s.) | worse (n.s.) | worse (< min-delta) | REGRESSION).

Example:
  lmkbench check results/gate --baseline results/baselines/gate-minilm.json --alpha 0.05 --min-delta 0.01
"""


def add_arguments(parser) -> None:
    from ..stats.registry import offered_tests
    from ..stats.settings import add_stats_arguments
    from ._common import describe_methods

    describe_methods(parser, gate=True)
    parser.add_argument("results_dir", metavar="RESULTS_DIR", help="folder of fresh result files (searched recursively)")
    parser.add_argument("--baseline", required=True, metavar="BASELINE.json", help="baseline file from `lmkbench baseline`")
    add_stats_arguments(parser, ("alpha", "min_delta", "test", "correction"), tests=offered_tests(gate=True),
                        helps={"correction": "multiple-comparison correction over all cells",
                               "test": "paired test on per-item scores"})
    parser.add_argument("--systems", default=None, metavar="SELECTOR",
                        help="gate only the cells this selector matches, in the results and the baseline "
                             "('pooling=cls|mean', 'model=minilm', 'task=bbc_*'; see lmkbench compare --help)")
    parser.add_argument("--json", default=None, metavar="OUT", help="also write the gate report as JSON")


def run(args) -> int:
    from ..gate import check
    from ..io import atomic_write_json, check_output_path

    if args.json:
        check_output_path(args.json, "--json", inputs=[args.baseline], results_dirs=[args.results_dir])
    report = check(args.results_dir, args.baseline, alpha=args.alpha, min_delta=args.min_delta, test=args.test,
                   correction=args.correction, systems=args.systems)
    if args.json:   # before the table: a write that fails (disk full) must not follow a "gate: PASS"
        atomic_write_json(args.json, report.to_dict())
    print(report.to_table())
    return 0 if report.passed else 1
