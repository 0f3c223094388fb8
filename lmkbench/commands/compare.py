"""``lmkbench compare``: significance tests of every pooling against a baseline, per length bucket."""
from __future__ import annotations

from pathlib import Path

from ._common import add_comparison_arguments, describe_methods, results_folder

NAME = "compare"
HELP = "test poolings against a baseline per task and length bucket (paired tests, corrected p-values)"
ORDER = 40
DESCRIPTION = """\
Compare the results under RESULTS_DIR (written by `lmkbench run`): for every task and model, each pooling
is paired item by item with the baseline pooling and tested overall and inside each length bucket.

Per pooling × bucket it prints n, the share of texts cut (content lost) and split into windows (nothing
lost), the mean score (the task's per-item score; for clustering, whose V-measure exists only for the whole
set, the per-item correct_rate, named as such), the mean difference to the baseline with its 95% CI,
wins/ties/losses over the paired items, the minimum detectable effect at 80% power (MDE80), the share of
queries whose top-10 was decided by tied scores, the raw and the adjusted p-value and a mark: ▲ significant
win, ▼ significant loss. Buckets with fewer than --min-n pairs are shown with their n but not tested.
Binary per-item outcomes (0/1) are tested with McNemar's test. A pooling the checkpoint was not trained
with is flagged (!) with a warning at the top.

Correction family (--family): task (default) corrects each task's tests (poolings x buckets) together, so
adding a task does not change another task's p-values; all corrects every test shown together; bucket
corrects each task's bucket on its own.

{methods}

Bucket edges are token counts, e.g. --buckets 0,512,1k,2k,inf ("1k" = 1024); an item is in [lo, hi).
Synthetic tasks bucket by their target length and, when items have a needle depth, also by depth. Real
retrieval tasks bucket by the estimated evidence depth (est. depth: the gold document's best BM25 passage).
--cross adds every length × depth cell (same paired tests; few items per cell).

--out FILE writes the long tables to FILE and prints only the short task x pooling summary.

Settings side by side: a model run under several encoder settings is filed under one label per setting
(minilm, minilm~pi-4096, minilm~windows). --settings tests each setting against the checkpoint as shipped
(or --settings VARIANT) per task, pooling and bucket, query by query, with the same test and correction.
--profile prints the LongEmbed profile: synthetic tasks by length and long real tasks per model label and
pooling († where documents exceed the max length; LongEmbed's average where its six tasks are present).

Example:
  lmkbench compare results/ --baseline mean --test wilcoxon --correction bh --json comparison.json
"""


def add_arguments(parser) -> None:
    describe_methods(parser)
    add_comparison_arguments(parser, resamples_help="resamples for randomization/bootstrap tests and CIs")
    parser.add_argument("--cross", action="store_true",
                        help="also test each length × depth cell (true or estimated depth)")
    parser.add_argument("--metric", default=None, help="per-item score to test (default: each task's main metric)")
    parser.add_argument("--layout", default="long", choices=["long", "matrix", "summary"],
                        help="long: one line per pooling x bucket; matrix: poolings x buckets of means; "
                             "summary: task x pooling differences")
    parser.add_argument("--settings", nargs="?", const="", default=None, metavar="VARIANT",
                        help="also test each settings variant of a model (minilm~pi-4096, ...) against the checkpoint "
                             "as shipped, or against VARIANT")
    parser.add_argument("--profile", action="store_true",
                        help="also print the LongEmbed profile (synthetic tasks by length, long real tasks)")
    parser.add_argument("--json", default=None, metavar="OUT", help="also write the comparison as JSON to OUT")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="write the --layout tables to FILE and print only the short summary")


def run(args) -> int:
    from ..io import check_output_path
    from ..results import load_results
    from ..stats.buckets import DEFAULT_DEPTH_EDGES, DEFAULT_EDGES, parse_depth_edges
    from ..stats.compare import compare

    parse_depth_edges(args.depth_buckets)     # unusable depth edges: one error before any work
    for flag, path in (("--out", args.out), ("--json", args.json)):
        if path:
            check_output_path(path, flag, results_dirs=[args.results_dir])
    records = load_results(results_folder(args))      # read once: the comparison, the profile and the settings
    options = dict(test=args.test, correction=args.correction, buckets=args.buckets or DEFAULT_EDGES,
                   alpha=args.alpha, min_n=args.min_n, seed=args.seed, n_resamples=args.resamples,
                   depth_buckets=args.depth_buckets or DEFAULT_DEPTH_EDGES, family=args.family,
                   equivalence_margin=args.equivalence_margin)
    cmp = compare(records, baseline=args.baseline, metric=args.metric, cross=args.cross, systems=args.systems,
                  allow_mixed=args.allow_mixed, **options)
    profile, settings = _profile_and_settings(args, records, cmp, options)
    extra = "".join(f"\n\n{part}" for part in (profile, settings) if part)
    if args.out:   # the long tables (and the settings table) to the file; the short ones on screen
        from ..io import atomic_write_text

        atomic_write_text(Path(args.out), cmp.to_table(layout=args.layout) + extra + "\n")
        print(cmp.to_table(layout="summary") + (f"\n\n{profile}" if profile else ""))
        print(f"wrote {args.out}")
    else:
        print(cmp.to_table(layout=args.layout) + extra)
    if args.json:
        path = cmp.to_json(args.json)
        print(f"wrote {path}")
    return 0


def _profile_and_settings(args, records, cmp, options: dict) -> tuple[str, str]:
    """The --profile table and the --settings table ('' for one not asked for); the settings are compared with
    the same ``options`` (test, correction, buckets, ...) as the main comparison."""
    from ..variants import compare_settings, format_profile, format_settings_table, longembed_profile

    profile = settings = ""
    if args.profile:
        profile = "== LongEmbed profile ==\n" + format_profile(longembed_profile(records, cmp))
    if args.settings is not None:
        settings = ("== settings side by side ==\n"
                    + format_settings_table(compare_settings(records, baseline=args.settings, **options)))
    return profile, settings
