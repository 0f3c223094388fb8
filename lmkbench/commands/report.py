"""``lmkbench report``: one self-contained HTML file with tables, tests, length figures and drill-downs."""
from __future__ import annotations

from pathlib import Path

from ..errors import LmkbenchError

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

Example:
  lmkbench report results/ -o reports/minilm.html --baseline mean --test wilcoxon --correction holm
"""


def add_arguments(parser) -> None:
    parser.add_argument("results_dir", metavar="RESULTS_DIR", help="folder of result files (searched recursively)")
    parser.add_argument("-o", "--output", default="reports/report.html", metavar="OUT.html",
                        help="HTML file to write (default: reports/report.html)")
    parser.add_argument("--baseline", default="mean", metavar="POOLING",
                        help="pooling every other pooling is tested against (default: mean)")
    parser.add_argument("--test", default="ttest", choices=["ttest", "wilcoxon", "randomization", "bootstrap"],
                        help="paired test (default: ttest; binary 0/1 scores always use McNemar's test)")
    parser.add_argument("--correction", default="holm", choices=["holm", "bh", "none"],
                        help="multiple-comparison correction within each family (default: holm)")
    parser.add_argument("--family", default="task", choices=["task", "all", "bucket"],
                        help="tests corrected together: task (default: one family per task and model), all, bucket")
    parser.add_argument("--buckets", default=None, metavar="EDGES",
                        help="length bucket edges in tokens (default: 0,512,1k,2k,4k,8k,16k,32k,inf)")
    parser.add_argument("--depth-buckets", default=None, metavar="EDGES",
                        help="needle depth bin edges (default: 0,0.2,0.4,0.6,0.8,1)")
    parser.add_argument("--title", default=None, help="report title (default: 'lmkbench report: <folder>')")
    parser.add_argument("--alpha", type=float, default=0.05, help="significance level (default: 0.05)")
    parser.add_argument("--min-n", type=int, default=10, metavar="N", help="test only buckets with >= N pairs (default: 10)")
    parser.add_argument("--resamples", type=int, default=10_000, metavar="R",
                        help="resamples of the randomization/bootstrap tests (default: 10000)")
    parser.add_argument("--ci-resamples", type=int, default=2_000, metavar="R",
                        help="bootstrap resamples for the CIs of the means (default: 2000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of all resampling (default: 0)")
    parser.add_argument("--top-queries", type=int, default=10, metavar="N",
                        help="queries listed per retrieval task in the disagreement table (default: 10; 0 = none)")
    parser.add_argument("--no-task-data", action="store_true",
                        help="do not load task data to show query texts and relevant documents")
    parser.add_argument("--figures", default="svg", choices=["svg", "png"], help="figure format (default: svg)")
    parser.add_argument("--screenshot", default=None, metavar="PNG",
                        help="also open the report in headless Chromium and save a screenshot (needs chromium)")


def run(args) -> int:
    from ..report import ReportOptions, build_report
    from ..stats.buckets import DEFAULT_DEPTH_EDGES, DEFAULT_EDGES

    root = Path(args.results_dir)
    if not root.is_dir():
        raise LmkbenchError(f"results folder not found: {root}")
    for name in ("ci_resamples", "resamples"):
        if getattr(args, name) < 1:
            raise LmkbenchError(f"--{name.replace('_', '-')} must be >= 1")
    opts = ReportOptions(baseline=args.baseline, test=args.test, correction=args.correction, family=args.family,
                         buckets=args.buckets or DEFAULT_EDGES, depth_buckets=args.depth_buckets or DEFAULT_DEPTH_EDGES,
                         alpha=args.alpha, min_n=args.min_n, n_resamples=args.resamples,
                         ci_resamples=args.ci_resamples, seed=args.seed, top_queries=args.top_queries,
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
