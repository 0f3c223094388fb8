"""``compare()``: every pooling against a baseline, per task, model and length bucket, in one object.

Modelled on ranx's ``compare`` / PyTerrier's ``Experiment``: one declarative call computes everything once
and returns a :class:`Comparison`; the console table (:meth:`Comparison.to_table`), the JSON file read by
the HTML report, the CI gate and the leaderboard (:meth:`Comparison.to_dict` / :meth:`to_json`) and the
pandas view (:meth:`to_dataframe`) are renderings of that one object, so they cannot disagree. Pairing, test
choice, test, correction and marks are :func:`~lmkbench.stats.paired.run_paired`'s, the path the leaderboard's
ranks and the CI gate take too; this module says what is paired (per bucket) and renders the outcomes as rows.

What is compared: results are grouped by (task, model). Within a group the baseline is the result whose
pooling canonical string equals ``baseline`` (e.g. ``"mean"``, ``"lmk:g=32"``); poolings are never compared
across models. Each other pooling is paired with the baseline item by item (the ids present in both, within
the bucket; ids in only one of them are counted in ``n_unpaired``) and tested per bucket and overall (bucket
``all``). The score is the task's main metric per item (``per_item_metric`` if a result names one; for a main
metric that exists only for the whole set, such as clustering's V-measure, the per-item outcome
``correct_rate`` or ``correct``, with a note; the group's ``metric`` names the tested score, ``main_metric``
the task's headline one, and they differ then). When both sides' scores are binary (0/1) the test is McNemar's
(``binary_test="mcnemar"``, the default) whatever ``test`` says. Buckets with fewer than ``min_n`` scored
pairs are kept with their n and mean but not tested (``p = None``).

Family of the multiple-comparison correction (``family``): ``"task"`` (default) corrects the tests of one
(task, model) together (its poolings × buckets), so adding a task to a run does not change another task's
p-values; ``"all"`` corrects every test of the comparison together; ``"bucket"`` each (task, model,
bucket) on its own. Each row records its ``family`` key and ``family_size``. A cell is a ``win``
(``loss``) when its adjusted p is below ``alpha`` and the mean difference is in (against) the metric's direction,
declared once in the metric registry (:func:`lmkbench.metrics.greater_is_better`, or a result's own
``greater_is_better``). A (task, model) without any per-item score cannot be tested; it is listed under
``skipped`` with the reason rather than failing the comparison.

Reading aids per tested row: ``n_better`` / ``n_tied`` / ``n_worse`` (pairs where the pooling scored above,
equal to, below the baseline); ``mde``, the minimum detectable effect at 80 % power for the bucket's n and
spread (:mod:`.power`); ``share_tied_topk`` (retrieval with a TREC run beside the result): the share of
queries whose top-k ranking contains documents with exactly equal scores, i.e. was decided by ties (e.g.
documents truncated to the same text); ``share_near_tied_topk``: the share whose top-``near_tie_k`` order (the
metric's cutoff: 1 for ``acc_at_1``, 10 for ``ndcg_at_10``; else ``topk``) is decided by a score gap at or below
``near_tie_gap``, what the numbers resolve: the spacing of scores in [0.5, 1) in the dtype the vectors were
computed in (the result's system, :data:`.ties.DTYPE_RESOLUTION`: bf16 2^-8, fp16 2^-11, fp32 2^-24), or the TREC file's
6 decimals where coarser; exact ties included. Such a query's hit can flip between dtypes, so the metric can move
by up to that share. ``n_truncated`` counts items whose text was *cut* (content lost);
``n_split`` items encoded as several windows with nothing lost (results without a ``split`` field: 0).

Equivalence (``equivalence_margin`` δ, a setting stated before reading, in the tested score's units): each tested
row also gets the two one-sided tests (TOST) of ``|Δ| < δ`` on the same paired differences: ``tost_low`` /
``tost_high``, the ``1 - 2·alpha`` CI (90% at alpha 0.05) by the row's CI method (the t interval for the t-test; the
percentile bootstrap of the same resamples for McNemar's and the resampling tests), and ``equivalent`` when it lies
inside ``±δ``. Not corrected for multiplicity. A Δ that is not significant is not thereby equivalent: "no
difference" is the claim ``equivalent`` makes, nothing else.

Trained pooling: each result's ``meta.trained_pooling`` / ``meta.pooling_mismatch`` (written by the runner)
are gathered per group: ``trained_pooling`` and ``untrained`` (poolings that are not the one the checkpoint
was trained with). Such a comparison shows how the checkpoint behaves under a pooling it never learned,
not which pooling is better; ``lmkbench train-matched`` trains one checkpoint per pooling for that.

JSON schema ``lmkbench.comparison/1`` (floats that are NaN/inf are written as ``null``)::

    {"schema": "lmkbench.comparison/1",
     "settings": {"baseline", "test", "binary_test", "correction", "alpha", "min_n", "seed",
                  "n_resamples", "confidence", "ci", "zero_method",
                  "edges": [0, 512, ..., null],          # null = infinity
                  "depth_edges": [0, 0.2, ...], "family": "task"|"all"|"bucket",
                  "family_size": int,                    # tests corrected, all families together
                  "n_families": int, "power": 0.8, "topk": 10,
                  "equivalence_margin": 0.05},           # δ of the equivalence test (TOST)
     "groups": [{"task", "task_kind", "split", "model", "metric", "main_metric", "baseline", "baseline_found": bool,
                 "test",                                  # the test used in this group
                 "poolings": [str],                       # baseline first
                 "buckets": [{"label", "axis": "all"|"length"|"depth", "lo", "hi"}],
                 "empty_buckets": [label],                # grid buckets without any item (not in rows)
                 "notes": [str],
                 "trained_pooling": [str],                # what the checkpoint was trained with (if known)
                 "untrained": [str]}],                    # poolings that are not the trained one
     "rows": [{"task", "model", "pooling", "is_baseline", "metric", "bucket", "axis", "lo", "hi",
               "n",                    # items of this pooling in the bucket
               "n_truncated", "share_truncated",   # items whose text was cut to fit the model (content lost)
               "n_split", "share_split",           # items encoded as several windows (nothing lost)
               "mean",                 # mean score of this pooling over its items in the bucket
               "n_paired", "n_nan", "n_unpaired",  # pairs tested; pairs dropped for NaN; ids on one side only
               "baseline_mean",        # baseline's mean over the same pairs
               "mean_diff", "ci_low", "ci_high", "ci_method",   # effect size and its CI (this - baseline)
               "test", "statistic", "p", "p_adj",  # p_adj: after correction within the row's family
               "family", "family_size",            # the family key (e.g. "toy|m") and its number of tests
               "mark": "win"|"loss"|null, "note",
               "n_better", "n_tied", "n_worse",    # pairs above / equal to / below the baseline
               "mde",                              # minimum detectable effect at 80% power (score units)
               "share_tied_topk", "n_tied_topk",   # queries whose top-k was decided by equal scores
               "tost_low", "tost_high", "p_tost", "equivalent",   # the equivalence test against ±δ
               "n_near_tied_topk", "share_near_tied_topk",        # queries whose top-k was decided by gaps
               "near_tie_k", "near_tie_gap"}],                    # at or below near_tie_gap (see above)
     "skipped": [{"task", "model", "reason"}],   # groups whose main metric has no per-item scores
     "seed_spread": [{"task", "model",           # a matched experiment's label without its seed (-sN)
                      "pooling", "baseline", "metric", "main_metric", "bucket", "seeds",
                      "per_seed", "per_seed_ci", "per_seed_mark", "per_seed_mde", "n_paired",   # by seed
                      "mean", "sd", "min", "max",              # the per-seed Δs across seeds
                      "n_le_0", "n_ge_0",                      # per-seed Δs at most / at least 0 (the tilt)
                      "within_noise",                          # max - min >= |mean|
                      "reading",                               # within training noise | beyond the seed spread...
                      "per_seed_equivalent", "n_equivalent",   # by seed: equivalent within ±δ (TOST)
                      "equivalent_every_seed"}]}               # the "no difference" reading

Seeds (:mod:`.seeds`): results of ``train-matched --seeds`` carry ``meta.matched_seed`` and a label ending in
``-s<seed>``; every Δ tested in two or more seeds gets its spread across seeds beside each seed's CI.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import InputError
from ..metrics import greater_is_better
from ..results import NoItemScores, ResultRecord, check_same_data, load_results
from . import buckets as bk
from .settings import DEFAULTS, check_settings
from .paired import Block, Contrast, Outcome, run_paired
from .power import DEFAULT_POWER, minimum_detectable_effect
from .comparison import Comparison
from .rows import Group, Row
from .seeds import seed_spread
from .ties import TOPK, metric_cutoff, near_tie_gap, tied_topk_queries, ties_in_run  # noqa: F401 (re-exported)
from ..system import System
from .select import arrange, canonical_pooling, registry_canonical

FAMILY_TEXT = {"task": "one family per task and model, its poolings × buckets",
               "all": "one family over every task, model, pooling and bucket",
               "bucket": "one family per task, model and bucket, its poolings"}


# ---------------------------------------------------------------- loading


def _flag(value) -> bool:
    """A ``truncated`` flag: JSON true (or 1); anything else, missing included, counts as not truncated."""
    return isinstance(value, (bool, np.bool_, int)) and bool(value)


# ---------------------------------------------------------------- the computation


def compare(results: list[dict] | str | Path, baseline: str = "mean", test: str = DEFAULTS["test"],
            correction: str = DEFAULTS["correction"], buckets: str | Sequence[float] | None = bk.DEFAULT_EDGES,
            alpha: float = DEFAULTS["alpha"], min_n: int = DEFAULTS["min_n"], seed: int | None = DEFAULTS["seed"],
            n_resamples: int = DEFAULTS["n_resamples"], *,
            depth_buckets: str | Sequence[float] | None = bk.DEFAULT_DEPTH_EDGES,
            metric: str | None = None, binary_test: str | None = DEFAULTS["binary_test"], confidence: float = 0.95,
            ci: str = "auto", zero_method: str = "wilcox", family: str = DEFAULTS["family"],
            power: float = DEFAULT_POWER, equivalence_margin: float = DEFAULTS["equivalence_margin"],
            topk: int = TOPK, cross: bool = False, systems: str | None = None,
            allow_mixed: bool = False) -> Comparison:
    """Compare every system with ``baseline`` per task, group and bucket; see the module docstring.

    ``baseline`` and ``systems`` are selectors over the results' systems (:mod:`.select`): a bare value is a
    pooling (``"mean"``: each pooling against mean inside one checkpoint), ``"model=minilm"`` every other
    checkpoint against minilm at the same pooling, ``"model=a,pooling=cls"`` every system against that one;
    ``systems`` keeps only the results it matches. A selector matching nothing is an error (did-you-mean)."""
    stats = check_settings("compare", family=family, test=test, binary_test=binary_test, correction=correction,
                           alpha=alpha, min_n=min_n, equivalence_margin=equivalence_margin)
    edges = bk.parse_edges(buckets)
    depth_edges = bk.parse_edges(depth_buckets, default=bk.DEFAULT_DEPTH_EDGES) if depth_buckets is not None else None
    records = load_results(results)
    if metric:
        check_metric(metric, records)
    arranged = arrange(records, baseline, systems=systems, allow_mixed=allow_mixed)
    by_group = arranged.groups
    for group in by_group.values():          # a stale cell (other data) is never paired
        check_same_data(group.values())
    found = set(arranged.baselines.values()) - {None}
    base_key = next(iter(found)) if len(found) == 1 else str(baseline)

    settings = {"baseline": base_key, "test": stats.test, "binary_test": stats.binary_test,
                "correction": stats.correction, "alpha": stats.alpha, "min_n": stats.min_n, "seed": seed,
                "n_resamples": n_resamples, "confidence": confidence, "ci": ci, "zero_method": zero_method,
                "family": stats.family, "power": power, "topk": topk,
                "equivalence_margin": stats.equivalence_margin,
                "edges": [None if e == math.inf else bk._json_edge(e) for e in edges],
                "depth_edges": [bk._json_edge(e) for e in depth_edges] if depth_edges else None, "cross": cross}
    groups: list[Group] = []
    rows: list[Row] = []
    tested: list[tuple[Group, Block]] = []     # groups with their baseline: one block of contrasts each
    reading = dict(alpha=stats.alpha, power=power, topk=topk, cross=cross, min_n=stats.min_n)
    skipped: list[dict[str, str]] = []
    for (task, model), members in sorted(by_group.items()):
        try:
            g, g_rows, block = _compare_group(task, model, members, arranged.baselines[(task, model)] or str(baseline),
                                              metric, edges, depth_edges, stats, reading)
        except NoItemScores as exc:
            skipped.append({"task": task, "model": model, "reason": str(exc)})
            continue
        groups.append(g)
        rows.extend(g_rows)
        if block is not None:
            tested.append((g, block))
    run_paired([block for _, block in tested], stats, ci=ci, confidence=confidence, n_resamples=n_resamples,
               seed=seed, zero_method=zero_method)
    outcomes = [o for g, block in tested for o in block.outcomes]
    for g, block in tested:
        g.test = block.test
    for o in outcomes:
        _fill(o.contrast.key, o, reading)
    settings["family_size"] = sum(o.p is not None for o in outcomes)
    settings["n_families"] = len({o.contrast.family for o in outcomes if o.p is not None})
    seed_of = {model: seeds.pop() for (_, model), group in by_group.items()
               for seeds in [{System.from_record(rec).seed for rec in group.values()}]
               if len(seeds) == 1 and None not in seeds}
    return Comparison(settings=settings, groups=groups, rows=rows, skipped=skipped,
                      seed_spread=seed_spread(rows, seed_of, {(g.task, g.model): g.main_metric for g in groups}),
                      members={(task, g, arm): rec for (task, g), group in by_group.items() for arm, rec in group.items()})


def check_metric(metric: str, records: list[ResultRecord]) -> None:
    """``--metric`` names a per-item score some result holds, else one error naming the flag (not a result
    file's field), with a did-you-mean over the scores the results have."""
    known = sorted({name for rec in records for name in rec.score_fields()})
    if metric not in known:
        from ..params import did_you_mean

        raise InputError(f"{metric!r} is not a per-item score of these results{did_you_mean(metric, known)} "
                         f"(scores: {', '.join(known) or 'none'})", field="--metric")


def family_key(family: str, row: Row) -> str:
    """The correction family a tested row belongs to (see the module docstring)."""
    if family == "all":
        return "all"
    key = f"{row.task}|{row.model}"
    return key if family == "task" else f"{key}|{row.bucket}"


def trained_poolings(members: dict[str, ResultRecord]) -> tuple[list[str], list[str]]:
    """(trained poolings recorded in the results' meta, poolings of the group that are not the trained one).

    ``meta.pooling_mismatch`` (written by the runner) decides; a result with ``trained_pooling`` but no flag
    is compared by canonical string."""
    trained: list[str] = []
    untrained: list[str] = []
    for pooling, rec in members.items():
        tp = rec.meta.trained_pooling
        if isinstance(tp, str) and tp:
            canon = canonical_pooling(tp)
            if canon not in trained:
                trained.append(canon)
        flag = rec.meta.pooling_mismatch
        if flag is None and isinstance(tp, str) and tp:
            flag = canonical_pooling(rec.pooling) not in {canonical_pooling(tp), registry_canonical(tp)}
        if flag is True:
            untrained.append(pooling)
    return trained, untrained


def _trec_path(record: ResultRecord) -> Path | None:
    trec = record.trec_path
    return trec if trec is not None and trec.exists() else None


def _compare_group(task, model, members, base_key, metric, edges, depth_edges, stats, reading):
    """The group's record and rows (their own numbers); and, when the baseline is among its poolings, the block
    of contrasts (each pooling against the baseline per bucket, ``key`` = the row it fills)."""
    order = ([base_key] if base_key in members else []) + sorted(p for p in members if p != base_key)
    first_rec = members[order[0]]
    metric_name = first_rec.item_metric(metric)
    direction = greater_is_better(metric_name, first_rec.greater_is_better)   # of every contrast of the group
    items = {p: members[p].items for p in order}
    for pooling in order:
        members[pooling].item_metric(metric_name)  # same score present everywhere
    with_depth = any(bk.has_depth(it) for it in items.values())
    estimated = all(bk.depth_is_estimated(it) for it in items.values() if bk.has_depth(it))
    grid = bk.grid(edges, depth_edges, with_depth=with_depth, estimated=with_depth and estimated,
                   cross=reading.get("cross", False))
    assigned = {p: bk.assign(items[p], grid) for p in order}
    notes: list[str] = []
    main = first_rec.main_metric
    if metric_name != main and not metric and not first_rec.per_item_metric:
        notes.append(f"main metric {main!r} has no per-item scores; tested per-item {metric_name!r} instead")
    baseline_found = base_key in members
    if not baseline_found:
        notes.append(f"baseline {base_key!r} not among the poolings of this task and model "
                     f"({', '.join(order)}): nothing tested")
    for p in order:
        missing = bk.unbucketed(items[p], edges)
        if missing:
            notes.append(f"{p}: {missing} item(s) without a length inside the bucket edges appear only in 'all'")

    trained, untrained = trained_poolings(members)
    g = Group(task=task, task_kind=first_rec.task_kind, split=first_rec.split, model=model,
              metric=metric_name, baseline=base_key, baseline_found=baseline_found, test=stats.test,
              poolings=order, buckets=[], notes=notes, main_metric=str(main or metric_name),
              trained_pooling=trained, untrained=[p for p in order if p in untrained])
    tied: dict[str, set[str] | None] = {}
    near: dict[str, tuple[set[str], float]] = {}
    near_k = metric_cutoff(metric_name, reading["topk"])
    if first_rec.item_table == "per_query":
        from ..io import read_trec_run   # a bad score or a folder in its place: InputError naming file and line

        for p in order:
            trec = _trec_path(members[p])
            run = read_trec_run(trec) if trec is not None else None
            tied[p] = ties_in_run(run, reading["topk"]) if run is not None else None
            if run is not None:
                gap = near_tie_gap(members[p])
                near[p] = (ties_in_run(run, near_k, gap), gap)
    rows: list[Row] = []
    contrasts: list[Contrast] = []
    for bucket in grid:
        if not any(assigned[p][bucket] for p in order):
            if bucket.axis != bk.ALL:
                g.empty_buckets.append(bucket.label)
                continue
        g.buckets.append(bucket.to_dict())
        for p in order:
            row = _row(task, model, p, p == base_key, metric_name, bucket, assigned[p][bucket], items[p], members[p])
            if tied.get(p) is not None and row.n:
                row.n_tied_topk = sum(1 for i in assigned[p][bucket] if i in tied[p])
                row.share_tied_topk = row.n_tied_topk / row.n
            if p in near and row.n:
                row.n_near_tied_topk = sum(1 for i in assigned[p][bucket] if i in near[p][0])
                row.share_near_tied_topk = row.n_near_tied_topk / row.n
                row.near_tie_k, row.near_tie_gap = near_k, near[p][1]
            rows.append(row)
            if baseline_found and p != base_key:
                contrasts.append(Contrast(p, base_key, a_ids=assigned[p][bucket], b_ids=assigned[base_key][bucket],
                                          greater_is_better=direction,
                                          family=family_key(stats.family, row), key=row))
    if not baseline_found:
        return g, rows, None
    scores = {p: dict(zip(items[p], members[p].scores(items[p], metric_name))) for p in order}
    return g, rows, Block(scores, contrasts, what=f"task {task!r}, model {model!r}, per-item {metric_name!r}: ")


def _row(task, model, pooling, is_baseline, metric, bucket, ids, its, rec) -> Row:
    """A pooling's own numbers in one bucket (n, texts cut and split, mean score)."""
    scores = rec.scores(ids, metric)
    finite = scores[~np.isnan(scores)]
    n_trunc = sum(1 for i in ids if _flag(its[i].get("truncated")))
    n_split = sum(1 for i in ids if _flag(its[i].get("split")))
    info = bucket.to_dict()
    return Row(task=task, model=model, pooling=pooling, is_baseline=is_baseline, metric=metric,
               bucket=info["label"], axis=info["axis"], lo=info["lo"], hi=info["hi"], n=len(ids),
               n_truncated=n_trunc, share_truncated=n_trunc / len(ids) if ids else None,
               mean=float(finite.mean()) if finite.size else None,
               n_split=n_split, share_split=n_split / len(ids) if ids else None)


def _fill(row: Row, o: Outcome, reading) -> None:
    """A row's pairing with the baseline, reading aids, test, correction and mark, from its outcome."""
    row.n_unpaired, row.n_nan, row.n_paired = o.n_unpaired, o.n_nan, o.n_paired
    if row.n_paired:
        d = o.diffs
        row.baseline_mean = float(o.b[o.finite].mean())
        row.mean_diff = float(d.mean())
        row.n_better, row.n_tied, row.n_worse = int((d > 0).sum()), int((d == 0).sum()), int((d < 0).sum())
        row.mde = minimum_detectable_effect(d, reading["alpha"], reading["power"])
    res = o.result
    if res is None:
        row.note = f"n={row.n_paired} < min_n={reading['min_n']}: not tested"
        if row.n_nan:
            row.note += f"; {row.n_nan} pair(s) with NaN dropped"
        return
    row.mean_diff, row.ci_low, row.ci_high, row.ci_method = res.mean_diff, res.ci_low, res.ci_high, res.ci_method
    row.test, row.statistic, row.p, row.note = res.test, res.statistic, res.p, res.note
    row.tost_low, row.tost_high, row.p_tost, row.equivalent = res.tost_low, res.tost_high, res.p_tost, res.equivalent
    if res.p is not None:
        row.family, row.p_adj, row.family_size, row.mark = o.contrast.family, o.p_adj, o.family_size, o.decision.mark
