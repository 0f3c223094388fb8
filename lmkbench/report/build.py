"""Build the self-contained HTML report of a results folder.

One call, :func:`build_report`, does it all: read the result files, run the one
:func:`~lmkbench.stats.compare` (every pooling against the baseline, per task and length bucket, one
corrected family of tests), gather each task's tables, figures and per-query drill-down, and render
``templates/report.html.j2`` with jinja2 (autoescape on: every text from a dataset is escaped) into one
HTML file with its CSS inline and its figures as ``data:`` URIs. The page loads nothing from anywhere: a
Content-Security-Policy in the page forbids every fetch and every script, so it opens from disk, offline,
and a malicious string in a dataset can neither run nor phone home.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import LmkbenchError
from ..io import atomic_write_text, check_output_file
from ..stats import buckets as bk
from ..results import load_results
from ..stats.compare import FAMILY_TEXT, compare
from ..stats.comparison import Comparison
from ..stats.table import ci_heading, ci_vs_marks, equivalence_reading
from . import figures
from .env import TEMPLATES, environment  # noqa: F401 - the report's jinja2 environment, imported from here too
from .collect import Section, build_sections
from .cost import against_baseline, cost_table
from .csp import CSP
from .drilldown import TaskDataLoader, disagreements
from .explain import explanation
from .lexical import gain_over_bm25
from ..variants import compare_settings, longembed_profile
from .overview import answers, delta_by_length, delta_matrix
from ..stats.select import select_records
from ..stats.settings import DEFAULTS as STATS
from .tables import (beyond_grids, bucket_table, depth_grids, family_table, metric_table, read_limits, series,
                     tested_field)

LONG_GROUP_WORDS = ("long",)


@dataclass
class ReportOptions:
    baseline: str = "mean"             # a selector over systems (lmkbench.stats.select); a bare value is a pooling
    systems: str | None = None         # report only the systems this selector matches
    allow_mixed: bool = False          # pair cells of one label produced by different systems (warned)
    test: str = STATS["test"]
    correction: str = STATS["correction"]
    family: str = STATS["family"]      # correction family: task | all | bucket
    buckets: Any = bk.DEFAULT_EDGES
    depth_buckets: Any = bk.DEFAULT_DEPTH_EDGES
    alpha: float = STATS["alpha"]
    min_n: int = STATS["min_n"]
    n_resamples: int = STATS["n_resamples"]   # for the resampling tests of the Comparison
    ci_resamples: int = 2_000          # for the bootstrap CIs of the means in tables and figures
    seed: int | None = STATS["seed"]
    equivalence_margin: float = STATS["equivalence_margin"]   # ±δ of the equivalence test (TOST)
    top_queries: int = 10
    load_task_data: bool = True
    figure_format: str = "svg"
    title: str | None = None
    #: link to the page with the matched experiment's finding (None: the committed one, where there is one)
    finding_href: str | None = None


def build_report(results, out, options: ReportOptions | None = None) -> Path:
    """Write the report of ``results`` (a folder or a list of result records) to ``out``; return its path."""
    out = check_output_file(out, "report file")      # before any work
    from .finding import finding_href, is_matched_experiment, render_finding

    if is_matched_experiment(results):
        atomic_write_text(out, render_finding(results, out))
        return out
    options = options or ReportOptions()
    if options.finding_href is None:
        options = dataclasses.replace(options, finding_href=finding_href(out))
    html = render_report(results, options)
    atomic_write_text(out, html)
    return out


def render_report(results, options: ReportOptions) -> str:
    if options.figure_format not in figures.FORMATS:
        raise LmkbenchError(f"figure format must be one of {', '.join(figures.FORMATS)}")
    records = select_records(load_results(results), options.systems)
    cmp = compare(records, baseline=options.baseline, test=options.test, correction=options.correction,
                  buckets=options.buckets, depth_buckets=options.depth_buckets, alpha=options.alpha,
                  min_n=options.min_n, seed=options.seed, n_resamples=options.n_resamples, family=options.family,
                  allow_mixed=options.allow_mixed, equivalence_margin=options.equivalence_margin)
    sections = build_sections(records, cmp.settings["baseline"])
    colors = figures.palette(sorted({p for s in sections for p in s.poolings}, key=lambda p: (p != cmp.settings["baseline"], p)))
    loader = TaskDataLoader(load_data=options.load_task_data)
    from .summary import summarise

    context = {
        "title": options.title or _default_title(results),
        "generated": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "lmkbench_version": __version__,
        "source": str(results) if isinstance(results, (str, Path)) else f"{len(records)} result records",
        "csp": CSP,
        "summary": summarise(records),
        "sections": [_section_context(s, cmp, options, colors, loader) for s in sections],
        "skipped": cmp.skipped,
        "how": explanation(cmp.settings, sorted({g.test for g in cmp.groups}), options.ci_resamples, options.seed),
        "n_wins": len(cmp.wins), "n_losses": len(cmp.losses),
        "n_wins_all": len([r for r in cmp.wins if r.bucket == bk.ALL]),
        "n_losses_all": len([r for r in cmp.losses if r.bucket == bk.ALL]),
        "untrained": cmp.untrained(),
        "banners": untrained_banners(cmp),
        "unknown_trained": unknown_trained(records),
        "answers": answers(cmp),
        "finding_href": options.finding_href,
        "ci_heading": ci_heading(cmp.settings), "ci_vs_marks": ci_vs_marks(cmp.settings),
        "family_text": FAMILY_TEXT.get(cmp.settings.get("family"), ""),
        "matrix": delta_matrix(sections, cmp),
        "seed_spread": [s for s in cmp.seed_spread if s.bucket == bk.ALL],
        "equivalence_reading": equivalence_reading,
        "delta_figure": _delta_figure(sections, cmp, options),
        "cost": against_baseline(cost_table(records), cmp.settings["baseline"]),
        "profile": with_cut_shares(longembed_profile(records, cmp), records),
        "settings_pairs": filled_columns(compare_settings(records, test=options.test, correction=options.correction,
                                                         family=options.family, buckets=options.buckets,
                                                         depth_buckets=options.depth_buckets, alpha=options.alpha,
                                                         min_n=options.min_n, seed=options.seed,
                                                         n_resamples=options.n_resamples)),
        "bm25_gain": gain_over_bm25(records, test=options.test, correction=options.correction, family=options.family,
                                    buckets=options.buckets, depth_buckets=options.depth_buckets,
                                    alpha=options.alpha, min_n=options.min_n, seed=options.seed,
                                    n_resamples=options.n_resamples),
    }
    return environment().get_template("report.html.j2").render(**context)


def _default_title(results) -> str:
    if isinstance(results, (str, Path)):
        return f"lmkbench report: {Path(results).name}"
    return "lmkbench report"


def _section_context(sec: Section, cmp: Comparison, opt: ReportOptions, colors, loader) -> dict[str, Any]:
    ci = dict(n_resamples=opt.ci_resamples, seed=opt.seed)
    groups = [g for g in cmp.groups if g.task in sec.tasks and g.model == sec.model]
    notes = list(sec.notes) + [f"{g.task}: {n}" if sec.is_family else n for g in groups for n in g.notes]
    notes += [f"{s['task']}: not tested ({s['reason']})" for s in cmp.skipped
              if s["task"] in sec.tasks and s["model"] == sec.model]
    untrained = [p for g in groups for p in g.untrained]
    trained = [p for g in groups for p in g.trained_pooling]
    ctx: dict[str, Any] = {
        "s": sec, "tests": sorted({g.test for g in groups}), "notes": notes,
        "untrained": list(dict.fromkeys(untrained)), "trained": list(dict.fromkeys(trained)),
        "tested": tested_field(sec, cmp),
        "family_sizes": sorted({r.family_size for r in cmp.rows if r.task in sec.tasks and r.model == sec.model
                                and r.p is not None}),
        "table": family_table(sec, cmp, **ci) if sec.is_family else metric_table(sec, cmp, **ci),
        "bucket_table": None if sec.is_family else bucket_table(sec, cmp),
        "length_figure": _length_figure(sec, cmp, opt, colors),
        "heatmap": _heatmap(sec, cmp, opt),
        "drill": disagreements(sec, loader, opt.top_queries),
    }
    return ctx


def _delta_figure(sections: list[Section], cmp: Comparison, opt: ReportOptions):
    data = delta_by_length(sections, cmp)
    if data is None or not data["series"]:
        return None
    return figures.delta_figure(data["labels"], data["series"], baseline=cmp.settings["baseline"],
                                fmt=opt.figure_format)


def _length_figure(sec: Section, cmp: Comparison, opt: ReportOptions, colors) -> str | None:
    """Score vs length bucket (or vs target length for synthetic tasks), one line per pooling."""
    all_items = [it for p in sec.poolings for it in sec.items(p).values()]
    limit, policy, positions = read_limits(sec)
    limit_at = None
    if sec.synthetic:
        lengths = sorted({float(it["target_length"]) for it in all_items
                          if isinstance(it.get("target_length"), (int, float))})
        if len(lengths) < 2:
            return None
        labels = [bk.format_edge(v) for v in lengths]
        bins = [lambda it, v=v: isinstance(it.get("target_length"), (int, float)) and float(it["target_length"]) == v
                for v in lengths]
        xlabel = "target document length (tokens)"
        if limit is not None:
            limit_at = figures.limit_position(limit, lengths)
    else:
        edges = [bk.INF if e is None else float(e) for e in cmp.settings["edges"]]
        used = [b for b in bk.length_buckets(edges) if any(b.contains(bk.bucket_length(it)) for it in all_items)]
        is_long = any(w in sec.group.lower() for w in LONG_GROUP_WORDS)
        if not used or (len(used) < 2 and not is_long):
            return None
        labels = [b.label for b in used]
        bins = [lambda it, b=b: b.contains(bk.bucket_length(it)) for b in used]
        xlabel = "length of the longest relevant document (tokens)" if sec.kind == "retrieval" else "text length (tokens)"
    data = series(sec, bins, **dict(n_resamples=opt.ci_resamples, seed=opt.seed))
    if not data:
        return None
    ns = [max(cells[j].n for cells in data.values()) for j in range(len(labels))]
    small = [n < opt.min_n for n in ns]
    where = "texts beyond it are split into windows" if policy == "windows" else "texts beyond it are cut"
    extended = f"; {positions} positions, extended" if positions and limit and limit > positions else ""
    return figures.line_figure(labels, ns, data, colors, xlabel=xlabel,
                               ylabel=f"{tested_field(sec, cmp)} (95% CI)", baseline=cmp.settings["baseline"],
                               fmt=opt.figure_format, small=small, limit_at=limit_at,
                               limit_label=f"max length {limit} ({where}{extended})" if limit else "")


def _heatmap(sec: Section, cmp: Comparison, opt: ReportOptions) -> str | None:
    """Target length × depth bin heatmap of the main metric, one panel per pooling (synthetic tasks)."""
    if not sec.synthetic:
        return None
    depth_bins = bk.depth_buckets(cmp.settings.get("depth_edges") or bk.DEFAULT_DEPTH_EDGES)
    lengths, grids, counts = depth_grids(sec, depth_bins)
    if not grids:
        return None
    limit, _, _ = read_limits(sec)
    beyond = beyond_grids(sec, depth_bins, lengths, limit)
    out = figures.heatmap_figure([bk.format_edge(v) for v in lengths],
                                 [f"{bk.format_edge(b.lo)}–{bk.format_edge(b.hi)}" for b in depth_bins],
                                 grids, counts, metric=tested_field(sec, cmp), fmt=opt.figure_format, beyond=beyond)
    return {"uri": out, "n_beyond": int(sum(int(b.sum()) for b in beyond.values())), "limit": limit}


def untrained_banners(cmp: Comparison) -> list[dict[str, Any]]:
    """One banner per fact: models whose checkpoint was trained with the same pooling and compared with the same
    untrained poolings share one (``minilm~512`` and ``minilm~pi-4096`` are one checkpoint read two ways)."""
    facts: dict[tuple, list[str]] = {}
    for model, info in cmp.untrained().items():
        facts.setdefault((tuple(info["trained"]), tuple(info["untrained"])), []).append(model)
    return [{"models": models, "trained": list(trained), "untrained": list(untrained)}
            for (trained, untrained), models in facts.items()]


def unknown_trained(records) -> list[str]:
    """Dense models none of whose results says which pooling the checkpoint was trained with (a plain Hugging
    Face folder): no comparison of them can tell a pooling's merit from a mismatch with its training."""
    known: dict[str, bool] = {}
    for r in records:
        if r.pooling == "bm25" or r.meta.bm25 is not None:
            continue
        known[r.model] = known.get(r.model, False) or bool(r.meta.get("trained_pooling"))
    return sorted(m for m, k in known.items() if not k)


def filled_columns(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """Settings side by side with only the bucket columns where some row has a difference (a table of empty
    length buckets does not fit a screen); its rows come in task order (lmkbench.variants.compare_settings)."""
    if data:
        data["columns"] = [c for c in data["columns"]
                           if any((r["cells"].get(c) or {}).get("diff") is not None for r in data["rows"])]
    return data


def with_cut_shares(profile: dict[str, Any] | None, records) -> dict[str, Any] | None:
    """Each LongEmbed-profile cell gets the share of its documents that were cut (``meta.truncated`` of the
    corpus over ``meta.n_texts``), read from its result rather than inferred from lengths: a document as long as
    the max length is cut too (its specials and landmarks take room)."""
    if not profile:
        return profile
    by = {(r.model, r.pooling, r.task): r for r in records}
    for row in profile["rows"]:
        for task, cell in row["cells"].items():
            rec = by.get((row["model"], row["pooling"], task))
            cell["cut"] = cut_share(rec) if rec is not None else None
    return profile


def cut_share(rec) -> float | None:
    """Share of a result's documents (retrieval corpus, else all its texts) whose content was cut."""
    cut, total = rec.meta.truncated or {}, rec.meta.n_texts or {}
    sets = ["corpus"] if total.get("corpus") else list(total)
    n = sum(total.get(s, 0) for s in sets)
    return sum(cut.get(s, 0) for s in sets) / n if n else None
