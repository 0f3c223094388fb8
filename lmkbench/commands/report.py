"""``lmkbench report``: one self-contained HTML file with tables, tests, length figures and drill-downs."""
from __future__ import annotations


from ._common import add_comparison_arguments, non_negative_int, positive_int, results_folder

NAME = "report"
HELP = "write a self-contained HTML report of a results folder (tables with CIs, tests, length figures)"
ORDER = 45
DESCRIPTION = """\
Render the results under RESULTS_DIR (written by `lmkbench run`) as one HTML file that opens from disk with
no network: CSS inline, figures inline, no script, nothing fetched.

Contents: a summary first (a banner when a pooling is not the one the checkpoint was trained with; task x
pooling differences to the baseline with CIs and marks; difference vs document length; cost per pooling),
a run summary (models, poolings, tasks, hardware, versions, wall times, texts cut and split); per task a
table of pooling x metric with 95% bootstrap CIs and significance marks against the baseline (▲ better,
▼ worse, after correction within each family: --family task by default), wins/ties/losses and the minimum
detectable effect, the tested score per length
bucket, a figure of score vs document length (one line per pooling, CI bands); for synthetic passkey /
needle tasks (passkey_256, passkey_512, ... are grouped by prefix) a table and a figure over target
lengths and heatmaps of target length x needle depth per pooling; per retrieval task the queries where the
poolings disagree most, with the rank of the relevant document under each pooling (from the .trec runs);
and a "how to read this" section. Tests and buckets are those of `lmkbench compare`.

On a folder written by `lmkbench train-matched` (it holds matched.json and comparison.json, e.g.
results/extrapolation) it writes instead the one-screen page of the experiment's finding, read from those two
files: `lmkbench report results/extrapolation -o reports/matched-finding.html`.

Example:
  lmkbench report results/ -o reports/minilm.html --baseline mean --test wilcoxon --correction holm
"""


def add_arguments(parser) -> None:
    add_comparison_arguments(parser, resamples_help="resamples of the randomization/bootstrap tests")
    parser.add_argument("-o", "--output", default="reports/report.html", metavar="OUT.html",
                        help="HTML file to write (default: reports/report.html)")
    parser.add_argument("--title", default=None, help="report title (default: 'lmkbench report: <folder>')")
    parser.add_argument("--ci-resamples", type=positive_int, default=2_000, metavar="R",
                        help="bootstrap resamples for the CIs of the means (default: 2000)")
    parser.add_argument("--top-queries", type=non_negative_int, default=10, metavar="N",
                        help="queries listed per retrieval task in the disagreement table (default: 10; 0 = none)")
    parser.add_argument("--no-task-data", action="store_true",
                        help="do not load task data to show query texts and relevant documents")
    parser.add_argument("--figures", default="svg", choices=["svg", "png"], help="figure format (default: svg)")
    parser.add_argument("--screenshot", default=None, metavar="PNG",
                        help="also open the report in headless Chromium and save a screenshot (needs chromium)")


def run(args) -> int:
    from ..report import ReportOptions, build_report
    from ..stats.buckets import DEFAULT_DEPTH_EDGES, DEFAULT_EDGES, parse_depth_edges

    parse_depth_edges(args.depth_buckets)     # unusable depth edges: one error before any work
    from ..io import check_output_path

    root = results_folder(args)
    check_output_path(args.output, "-o", results_dirs=[root])
    if args.screenshot:
        check_output_path(args.screenshot, "--screenshot", inputs=[args.output], results_dirs=[root])
    opts = ReportOptions(baseline=args.baseline, systems=args.systems, allow_mixed=args.allow_mixed, test=args.test, correction=args.correction, family=args.family,
                         buckets=args.buckets or DEFAULT_EDGES, depth_buckets=args.depth_buckets or DEFAULT_DEPTH_EDGES,
                         alpha=args.alpha, min_n=args.min_n, n_resamples=args.resamples,
                         ci_resamples=args.ci_resamples, seed=args.seed, equivalence_margin=args.equivalence_margin, top_queries=args.top_queries,
                         load_task_data=not args.no_task_data, figure_format=args.figures, title=args.title)
    path = build_report(root, args.output, opts)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")
    if args.screenshot:
        from ..report.browser import open_in_browser

        res = open_in_browser(path, screenshot=args.screenshot)
        print(f"wrote {res.screenshot}")
        for msg in res.console:
            print(f"browser console: {msg}")
        if res.console:
            return 1
    return 0
