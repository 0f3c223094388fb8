"""Console rendering of a :class:`~lmkbench.stats.compare.Comparison` (plain text, fixed-width columns).

Three layouts:

``long``
    one section per (task, model), one line per pooling × bucket: n, share of texts cut (content lost) and
    split into windows (nothing lost), mean, difference to the baseline with its CI, wins / ties / losses
    over the paired items, the minimum detectable effect (80 % power), the share of queries whose top-k was
    decided by tied scores and by near ties (gaps below the numbers' resolution), the equivalence test's verdict
    (TOST against ±``equivalence_margin``), raw and adjusted p and a mark (▲ significant win, ▼ significant loss).
``matrix``
    one section per (task, model): poolings down, buckets across, each cell the mean score with its mark.
``summary``
    one short table: task × pooling, the baseline's score and every other pooling's difference (bucket
    ``all``) with its mark, and ≈ where it is equivalent within the margin.

Every Δ is in the units of the tested per-item score its table names; where that is not the task's headline
metric (clustering: V-measure exists only for the whole set), both are named.

Every layout starts with a warning when a compared pooling is not the one the checkpoint was trained with.
"""
from __future__ import annotations

from typing import Any, Protocol

from ..format import DASH, MARKS, fmt_diff, fmt_p, fmt_score, fmt_share, grid
from .rows import Group, Row
from .seeds import EQUIVALENT
from .ties import resolution_text


class Comparison(Protocol):
    """What the table reads of a :class:`~lmkbench.stats.comparison.Comparison` (which imports this module to
    render itself, so the type is named by its shape here, not imported)."""

    settings: dict[str, Any]
    groups: list[Group]
    skipped: list[dict[str, str]]
    seed_spread: list[Any]          # SeedSpread

    def select(self, *, task: str | None = None, model: str | None = None, pooling: str | None = None,
               bucket: str | None = None) -> list[Row]: ...

    def untrained(self) -> dict[str, dict[str, list[str]]]: ...

#: beside a Δ: equivalent within ± the equivalence margin (TOST), i.e. no difference at that margin
EQUIVALENT_MARK = "≈"

_TECHNICAL = ("zero_method=", "exact over", "random sign patterns", "resamples, shift method", "exact binomial",
              "chi-square")


def _visible_note(note: str) -> str:
    """The parts of a row's note worth a console column (how a p-value was computed stays in the JSON)."""
    parts = [p.strip() for p in note.split(";") if p.strip()]
    return "; ".join(p for p in parts if not any(t in p for t in _TECHNICAL))


def family_phrase(cmp: Comparison, g: Group) -> str:
    """``holm within this task (12 tests)`` / ``holm over all 114 tests`` / ``holm per bucket``."""
    s = cmp.settings
    fam = s.get("family", "all")
    if fam == "all":
        return f"{s['correction']} over all {s['family_size']} tests"
    if fam == "bucket":
        return f"{s['correction']} per bucket (poolings of one bucket)"
    n = max((r.family_size for r in cmp.select(task=g.task, model=g.model)), default=0)
    return f"{s['correction']} within this task ({n} tests)"


def untrained_warning(cmp: Comparison) -> list[str]:
    """Lines saying which compared poolings the checkpoint was not trained with, and what that means."""
    out = []
    for model, info in cmp.untrained().items():
        trained = ", ".join(info["trained"]) or "another pooling"
        out.append(f"WARNING: {model} was trained with {trained} pooling; {', '.join(info['untrained'])} "
                   f"{'is' if len(info['untrained']) == 1 else 'are'} not the trained pooling. Differences to "
                   f"them show how this checkpoint copes with a pooling it never learned, not which pooling is "
                   f"better; for that, compare checkpoints trained per pooling (lmkbench train-matched).")
    return out


def _heading(cmp: Comparison, g: Group) -> str:
    s = cmp.settings
    kind = ", ".join(x for x in (g.task_kind, g.split) if x)
    test = g.test + (f" (zero_method={s['zero_method']})" if g.test == "wilcoxon" else "")
    metric = g.metric if g.metric == g.main_metric or not g.main_metric else \
        f"tested per item: {g.metric} (main metric {g.main_metric} is a whole-set score)"
    return (f"== {g.task}" + (f" ({kind})" if kind else "") + f" | model {g.model} | {metric} | baseline "
            f"{g.baseline} | {test}, {family_phrase(cmp, g)}, alpha {s['alpha']} ==")


def metric_name(metric: str, main_metric: str | None) -> str:
    """The tested score's name, and the headline metric's where they differ: ``correct_rate (main: v_measure)``."""
    return metric if not main_metric or main_metric == metric else f"{metric} (main: {main_metric})"


def fmt_equivalent(equivalent: bool | None) -> str:
    return DASH if equivalent is None else "yes" if equivalent else "no"


def equivalence_note(settings: dict[str, Any]) -> str:
    """The sentence that says what the equivalence verdict is (and is not)."""
    margin, alpha = settings.get("equivalence_margin"), settings["alpha"]
    return (f"equivalent (≈) = the {100 * (1 - 2 * alpha):g}% CI of Δ lies inside ±{margin:g} (two one-sided tests "
            f"at alpha {alpha}, uncorrected, on the same paired differences and CI method): no difference larger "
            f"than {margin:g}. A Δ neither marked nor equivalent is undecided, not 'no difference'.")


def fmt_wtl(r: Row) -> str:
    return DASH if r.n_better is None else f"{r.n_better}/{r.n_tied}/{r.n_worse}"


def ci_heading(settings: dict[str, Any]) -> str:
    """``95% CI (unadjusted)``: each CI is per comparison, while the marks read the corrected p."""
    level = f"{100 * settings['confidence']:g}% CI"
    return level if settings.get("correction", "none") == "none" else f"{level} (unadjusted)"


def ci_vs_marks(settings: dict[str, Any]) -> str:
    """The sentence under every table with CIs and marks: which p the marks use and what the CIs are not."""
    win, loss, corr = MARKS["win"], MARKS["loss"], settings.get("correction", "none")
    if corr == "none":
        return f"{win}/{loss} = p < {settings['alpha']} (no correction), the same test as the CI."
    return (f"{win}/{loss} use the {corr}-adjusted p (p_adj < {settings['alpha']}); the "
            f"{100 * settings['confidence']:g}% CIs are per comparison, not adjusted: a CI that excludes 0 "
            f"without a mark is a difference that did not survive the {corr} correction.")


def ordered_groups(cmp: Comparison) -> list[Group]:
    """The comparison's (task, model) groups in task order (lmkbench.variants.task_order: lengths as numbers)."""
    from ..order import task_order

    return sorted(cmp.groups, key=lambda g: (task_order(g.task), g.model))


def _long(cmp: Comparison, g: Group, rows: list[Row]) -> list[str]:
    level = ci_heading(cmp.settings)
    power = f"MDE{100 * cmp.settings.get('power', 0.8):.0f}"
    margin = cmp.settings.get("equivalence_margin")
    header = ["pooling", "bucket", "n", "cut", "split", "mean", "diff", level, "W/T/L", power,
              f"tied@{cmp.settings.get('topk', 10)}", "near-tied", "p", "p_adj", "",
              DASH if margin is None else f"≈±{margin:g}", "note"]
    body = []
    for r in rows:
        name = r.pooling + (" (!)" if r.pooling in g.untrained else "")
        if r.is_baseline:
            diff, ci, note = "(baseline)", "", r.note
        else:
            diff = fmt_diff(r.mean_diff)
            ci = DASH if r.ci_low is None else f"[{r.ci_low:+.4f}, {r.ci_high:+.4f}]"
            note = _visible_note(r.note)
        mde = DASH if r.mde is None else f"{r.mde:.4f}"
        near = DASH if r.share_near_tied_topk is None else f"{fmt_share(r.share_near_tied_topk)}@{r.near_tie_k}"
        body.append([name, r.bucket, str(r.n), fmt_share(r.share_truncated), fmt_share(r.share_split),
                     fmt_score(r.mean), diff, ci, fmt_wtl(r), mde, fmt_share(r.share_tied_topk), near,
                     fmt_p(r.p), fmt_p(r.p_adj), MARKS.get(r.mark or "", ""),
                     "" if r.is_baseline else fmt_equivalent(r.equivalent), note])
    return grid(header, body, right={2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13})


def _matrix(cmp: Comparison, g: Group, rows: list[Row]) -> list[str]:
    labels = [b["label"] for b in g.buckets]
    cells = {(r.pooling, r.bucket): r for r in rows}
    header = ["pooling"] + labels
    first = g.poolings[0]
    body = [["n"] + [str(cells[(first, b)].n) if (first, b) in cells else DASH for b in labels]]
    for p in g.poolings:
        line = [p + (" (baseline)" if p == g.baseline and g.baseline_found else "")]
        for b in labels:
            r = cells.get((p, b))
            line.append(DASH if r is None else fmt_score(r.mean) + MARKS.get(r.mark or "", " "))
        body.append(line)
    return grid(header, body, right=set(range(1, len(header))))


def _summary(cmp: Comparison) -> list[str]:
    """Task × pooling: the baseline's mean, every other pooling's difference with its mark (bucket all)."""
    base = cmp.settings["baseline"]
    pools = [p for p in dict.fromkeys(p for g in cmp.groups for p in g.poolings) if p != base]
    untrained = {p for g in cmp.groups for p in g.untrained}
    header = ["task", "model", "tested metric", f"{base}" + (" (!)" if base in untrained else "")]
    header += [f"Δ {p}" + (" (!)" if p in untrained else "") for p in pools]
    body = []
    for g in ordered_groups(cmp):
        cells = {r.pooling: r for r in cmp.select(task=g.task, model=g.model, bucket="all")}
        line = [g.task, g.model, metric_name(g.metric, g.main_metric),
                fmt_score(cells[base].mean) + _cut(cells[base]) if base in cells else DASH]
        for p in pools:
            r = cells.get(p)
            line.append(DASH if r is None or r.mean_diff is None else
                        fmt_diff(r.mean_diff) + MARKS.get(r.mark or "", " ") + _equivalent(r) + _cut(r))
        body.append(line)
    return grid(header, body, right=set(range(3, len(header))))


def _equivalent(r: Row) -> str:
    return EQUIVALENT_MARK if r.equivalent else " "


def _cut(r: Row) -> str:
    """`` (cut 38%)`` where some of the row's items were cut (content lost), else nothing."""
    return f" (cut {fmt_share(r.share_truncated)})" if r.share_truncated else ""


def seed_lines(cmp: Comparison) -> list[str]:
    """The training-noise table (bucket ``all``): each Δ per seed with its CI and mark, its spread across seeds,
    and whether the spread covers it; empty without a matched experiment of two or more seeds."""
    spreads = [s for s in cmp.seed_spread if s.bucket == "all"]
    if not spreads:
        return []
    margin = cmp.settings.get("equivalence_margin")
    header = ["task", "experiment", "pooling", "metric", "Δ per seed (CI, mark)", "mean Δ", "sd", "range", "Δ≤0/≥0",
              "MDE80", "reading", DASH if margin is None else f"equivalent ±{margin:g}"]
    body = []
    for s in spreads:
        per = "; ".join(f"s{k} {fmt_diff(v)}" + ("" if s.per_seed_ci[k] is None else
                        f" [{s.per_seed_ci[k][0]:+.3f}, {s.per_seed_ci[k][1]:+.3f}]")
                        + MARKS.get(s.per_seed_mark[k] or "", "")
                        + (EQUIVALENT_MARK if s.per_seed_equivalent.get(k) else "") for k, v in s.per_seed.items())
        body.append([s.task, s.model, s.pooling, metric_name(s.metric, s.main_metric), per, fmt_diff(s.mean),
                     f"{s.sd:.4f}", f"{s.min:+.4f} .. {s.max:+.4f}", f"{s.n_le_0}/{s.n_ge_0}",
                     DASH if s.mde is None else f"{s.mde:.4f}", s.reading, equivalence_reading(s)])
    return (["== training noise: each Δ to the baseline per seed and across seeds (bucket all) =="]
            + grid(header, body, right={5, 6, 8, 9})
            + ["within training noise = the per-seed Δs differ by at least the size of their mean (max - min >= "
               "|mean|); it is not 'no difference': that reading is 'equivalent in every seed' (each seed's Δ "
               "equivalent, ≈). Δ≤0/≥0 = per-seed Δs at most / at least 0 (the tilt). A per-query CI speaks for one "
               "seed's checkpoints only. MDE80 = the largest per-seed minimum detectable effect. Each Δ is in the "
               "units of its metric (the tested per-item score; (main: ...) names the task's whole-set headline "
               "metric where it is another).", ci_vs_marks(cmp.settings)]
            + ([equivalence_note(cmp.settings)] if margin is not None else []))


def equivalence_reading(s) -> str:
    """``equivalent in every seed`` / ``equivalent in 1 of 3 seeds`` / ``in no seed``: a SeedSpread's
    equivalence reading, distinct from its training-noise reading."""
    n = len(s.per_seed)
    if s.equivalent_every_seed:
        return EQUIVALENT
    return f"equivalent in {s.n_equivalent} of {n} seeds" if s.n_equivalent else "equivalent in no seed"


def render_table(cmp: Comparison, layout: str = "long") -> str:
    if layout not in ("long", "matrix", "summary"):
        raise ValueError(f"layout must be 'long', 'matrix' or 'summary', got {layout!r}")
    out: list[str] = untrained_warning(cmp)
    if out:
        out.append("")
    if layout == "summary":
        out.extend(_summary(cmp))
        out.extend(f"skipped {s['task']} | model {s['model']}: {s['reason']}" for s in cmp.skipped)
        s = cmp.settings
        out.append(f"Δ = mean difference to the baseline {s['baseline']} over all items, in the tested metric; "
                   f"{MARKS['win']}/{MARKS['loss']} significant after {s['correction']} correction ({s.get('family', 'all')} "
                   f"family), alpha {s['alpha']}; (cut N%) = share of the items whose text was cut at the max "
                   f"length (content lost); (!) = not the checkpoint's trained pooling.")
        return _ending(cmp, out, equivalence=True)
    for g in ordered_groups(cmp):
        rows = cmp.select(task=g.task, model=g.model)
        out.append(_heading(cmp, g))
        out.extend(_long(cmp, g, rows) if layout == "long" else _matrix(cmp, g, rows))
        if g.empty_buckets:
            out.append(f"(no items in: {', '.join(g.empty_buckets)})")
        out.extend(f"note: {n}" for n in g.notes)
        out.append("")
    out.extend(f"skipped {s['task']} | model {s['model']}: {s['reason']}" for s in cmp.skipped)
    s = cmp.settings
    out.append(f"{MARKS['win']} significant win, {MARKS['loss']} significant loss against the baseline "
               f"(adjusted p < {s['alpha']}); '-' = undefined or not tested (n < {s['min_n']}).")
    if layout == "long":
        out.append(ci_vs_marks(s))
    if layout == "long":
        out.append(f"cut = texts shortened to fit the model (content lost); split = encoded as several windows "
                   f"(nothing lost). W/T/L = pairs where the pooling scored above / equal to / below the baseline. "
                   f"MDE{100 * s.get('power', 0.8):.0f} = smallest true difference the bucket would detect with "
                   f"{100 * s.get('power', 0.8):.0f}% power (paired t, alpha {s['alpha']}): a difference below it "
                   f"going untested or unmarked says little. tied@{s.get('topk', 10)} = queries whose top-"
                   f"{s.get('topk', 10)} held documents with equal scores (order decided by ties). near-tied = N%@k: "
                   f"queries whose top-k (k = the metric's cutoff) is decided by a score gap at or below the "
                   f"resolution of the dtype the vectors were computed in or of the TREC file ({resolution_text()}), "
                   f"ties included: the metric could move by up to that share between dtypes; '-' in either: no "
                   f"TREC run beside the result. (!) = not the checkpoint's trained pooling.")
    return _ending(cmp, out, equivalence=layout == "long")


def _ending(cmp: Comparison, out: list[str], *, equivalence: bool) -> str:
    """``out``, the sentence on the equivalence marks (where the layout shows them) and the training-noise
    table, as one text."""
    if equivalence and cmp.settings.get("equivalence_margin") is not None:
        out.append(equivalence_note(cmp.settings))
    noise = seed_lines(cmp)
    return "\n".join(out + ([""] + noise if noise else []))
