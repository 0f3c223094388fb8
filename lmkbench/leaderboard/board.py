"""The leaderboard table: one row per system (model × pooling), ranked with significance, many renderings.

Columns: the overall rank, the mean of the main metric over tasks (a macro average: every task counts once,
as MTEB averages), the mean per task group (short retrieval, long retrieval, synthetic long-context,
clustering, classification) and every task's score with the system's rank on that task.

Ranks come from :func:`lmkbench.stats.rank_systems`: ``rank = 1 + #systems significantly better`` after
correcting all pairwise tests together (Holm by default), made monotone in the mean, so systems the data
cannot separate share a rank.

* Per task, the items are the task's queries / texts (per-item scores of the main metric, McNemar's test
  for 0/1 outcomes), so a task with hundreds of queries separates systems well.
* Overall, the items are the tasks (each system's main metric per task, on the tasks every system has), so
  with a handful of tasks most systems share rank 1 — that is the honest answer. With a single task the
  overall rank is that task's rank.

A system whose pooling is not the one its checkpoint was trained with (``meta.pooling_mismatch`` of its
results, written by the runner from ``meta.trained_pooling``) is flagged (``untrained``, with the
``trained_pooling``) and a note says what its rank can and cannot show.

:meth:`Leaderboard.to_dataframe` (and the CSV), :meth:`to_dict` (JSON) and :func:`~.html.render_html` are
views of the one :class:`Leaderboard`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ..results import NoItemScores, ResultRecord, json_safe, load_results
from ..stats.ranking import rank_systems
from ..stats.settings import DEFAULTS
#: column groups in display order (TaskDef.group values), with their headings
GROUP_LABELS = {"short-retrieval": "Short retrieval", "long-retrieval": "Long retrieval",
                "synthetic": "Synthetic long-context", "clustering": "Clustering", "classification": "Classification",
                "retrieval": "Retrieval (ungrouped)", "other": "Other"}


def group_order(groups) -> list[str]:
    known = [g for g in GROUP_LABELS if g in groups]
    return known + sorted(g for g in groups if g not in GROUP_LABELS)


_KIND_GROUP = {"classification": "classification", "clustering": "clustering", "retrieval": "retrieval"}


@dataclass
class TaskColumn:
    name: str
    group: str
    kind: str
    metric: str
    n_items: int | None = None          # items every system has (the per-task ranking's sample)
    ranked: bool = False                # False: no per-item scores to test, every system has rank 1


@dataclass
class SystemRow:
    model: str
    pooling: str
    rank: int
    mean: float | None                  # over the tasks this system has
    n_tasks: int
    groups: dict[str, float] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    task_ranks: dict[str, int] = field(default_factory=dict)
    trained_pooling: str | None = None  # what the checkpoint was trained with (from the results' meta)
    untrained: bool = False             # this pooling is not the trained one

    @property
    def system(self) -> str:
        return system_name(self.model, self.pooling)


def system_name(model: str, pooling: str) -> str:
    return f"{model} | {pooling}"


@dataclass
class Leaderboard:
    title: str
    rows: list[SystemRow]
    tasks: list[TaskColumn]
    groups: list[str]
    settings: dict[str, Any]
    missing: list[str] = field(default_factory=list)     # grid cells without a result
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": "lmkbench.leaderboard/1", "title": self.title, "settings": self.settings,
                "groups": self.groups, "tasks": [asdict(t) for t in self.tasks],
                "rows": [json_safe(asdict(r)) for r in self.rows],
                "missing": self.missing, "notes": self.notes}

    def to_dataframe(self):
        import pandas as pd

        records = []
        for r in self.rows:
            rec = {"rank": r.rank, "model": r.model, "pooling": r.pooling, "mean": r.mean, "n_tasks": r.n_tasks,
                   "trained_pooling": r.trained_pooling, "untrained": r.untrained}
            rec.update({f"group:{g}": r.groups.get(g) for g in self.groups})
            for t in self.tasks:
                rec[t.name] = r.scores.get(t.name)
                rec[f"{t.name}:rank"] = r.task_ranks.get(t.name)
            records.append(rec)
        df = pd.DataFrame.from_records(records)
        for t in self.tasks:   # ranks are integers; a system without the task has none
            df[f"{t.name}:rank"] = df[f"{t.name}:rank"].astype("Int64")
        return df

    def to_csv(self) -> str:
        """The table as CSV; a text cell or heading a spreadsheet would read as a formula is escaped
        (:func:`csv_safe`)."""
        df = self.to_dataframe()
        df.columns = [csv_safe(c) for c in df.columns]
        for col in df.columns:
            if df[col].dtype == object or str(df[col].dtype) in ("string", "str"):
                df[col] = df[col].map(csv_safe)
        return df.to_csv(index=False, float_format="%.6f")


#: first characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value):
    """A text that starts like a formula, prefixed with ``'`` as OWASP advises; anything else unchanged.
    Model, pooling and task names come from user files and end up in ``leaderboard.csv``."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def group_of(record: ResultRecord, overrides: dict[str, str]) -> str:
    return overrides.get(record.task) or record.task_group or _KIND_GROUP.get(record.task_kind, "other")


def build_leaderboard(records: list[ResultRecord] | list[dict], *, title: str = "lmkbench leaderboard", groups: dict[str, str] | None = None,
                      test: str = DEFAULTS["test"], correction: str = DEFAULTS["correction"],
                      alpha: float = DEFAULTS["alpha"], seed: int = DEFAULTS["seed"],
                      n_resamples: int = DEFAULTS["n_resamples"], missing: list[str] | None = None) -> Leaderboard:
    """Rank the (model, pooling) systems of ``records`` (one per cell; mappings are read as result files)."""
    overrides = groups or {}
    opts = dict(test=test, correction=correction, alpha=alpha, seed=seed, n_resamples=n_resamples)
    by_task: dict[str, dict[str, ResultRecord]] = {}
    systems: dict[str, tuple[str, str]] = {}
    for rec in load_results(records):
        name = system_name(rec.model, rec.pooling)
        systems[name] = (rec.model, rec.pooling)
        by_task.setdefault(rec.task, {})[name] = rec

    columns: list[TaskColumn] = []
    task_ranks: dict[str, dict[str, int]] = {}
    notes: list[str] = []
    for task, recs in by_task.items():
        first = next(iter(recs.values()))
        col = TaskColumn(task, group_of(first, overrides), first.task_kind, first.main_metric)
        items: dict[str, dict[str, float]] = {}
        try:
            for name, rec in recs.items():
                metric = rec.item_metric()
                items[name] = dict(zip(rec.items, rec.scores(rec.items, metric).tolist()))
            col.ranked = True
        except NoItemScores:
            notes.append(f"{task}: no per-item scores for {col.metric}, nothing to test: every system has rank 1 there")
            items = {name: {"_": _main(rec)} for name, rec in recs.items()}
        ranking = rank_systems(items, **opts) if len(items) > 1 else None
        task_ranks[task] = {s.system: s.rank for s in ranking.systems} if ranking else {n: 1 for n in items}
        col.n_items = ranking.n_items if ranking else len(next(iter(items.values())))
        columns.append(col)

    col_groups = {c.name: c.group for c in columns}
    group_names = group_order({c.group for c in columns})
    rows = []
    for name, (model, pooling) in systems.items():
        scores = {t: _main(recs[name]) for t, recs in by_task.items() if name in recs}
        per_group = {}
        for g in group_names:
            vals = [v for t, v in scores.items() if col_groups[t] == g and not math.isnan(v)]
            if vals:
                per_group[g] = sum(vals) / len(vals)
        finite = [v for v in scores.values() if not math.isnan(v)]
        rows.append(SystemRow(model, pooling, 0, sum(finite) / len(finite) if finite else None, len(scores),
                              per_group, scores, {t: task_ranks[t][name] for t in scores}))

    if len(columns) == 1:
        only = columns[0].name
        for r in rows:
            r.rank = task_ranks[only][r.system]
        overall = {"rule": f"single task: the per-task rank on {only}"}
    elif len(rows) > 1:
        ranking = rank_systems({r.system: r.scores for r in rows}, **opts, binary_test=None)
        for r in rows:
            r.rank = ranking.rank_of(r.system)
        overall = {"rule": "tasks as items: main metric per task, paired over tasks every system has",
                   "n_tasks_common": ranking.n_items}
        if ranking.n_items < 2:
            notes.append("fewer than two tasks shared by every system: the overall ranks are all 1")
    else:
        for r in rows:
            r.rank = 1
        overall = {"rule": "one system"}
    for r in rows:
        r.trained_pooling, r.untrained = _trained(by_task, r.system)
    flagged = [r for r in rows if r.untrained]
    if flagged:
        notes.append("⚠ not the pooling the checkpoint was trained with: " + ", ".join(
            f"{r.system} (trained with {r.trained_pooling or 'another pooling'})" for r in flagged)
            + ". Their ranks show how the checkpoint copes with a pooling it never learned, not which pooling is "
              "better; compare checkpoints trained per pooling (lmkbench train-matched) for that.")
    rows.sort(key=lambda r: (r.rank, -(r.mean if r.mean is not None else -math.inf), r.system))
    incomplete = [r.system for r in rows if r.n_tasks < len(columns)]
    if incomplete:
        notes.append(f"{len(incomplete)} system(s) lack some tasks; their mean is over the tasks they have: "
                     + ", ".join(incomplete))
    settings = {**opts, "overall": overall, "per_task": "items: per-query / per-item scores of the main metric"}
    return Leaderboard(title, rows, columns, group_names, settings, list(missing or []), notes)


def _trained(by_task: dict[str, dict[str, ResultRecord]], system: str) -> tuple[str | None, bool]:
    """(trained pooling, whether any of the system's results says its pooling is not the trained one)."""
    trained, mismatch = None, False
    for recs in by_task.values():
        if system in recs:
            meta = recs[system].meta
            trained = trained or meta.trained_pooling
            mismatch = mismatch or meta.pooling_mismatch is True
    return trained, mismatch


def _main(rec: ResultRecord) -> float:
    return math.nan if rec.value is None else rec.value


__all__ = ["Leaderboard", "SystemRow", "TaskColumn", "build_leaderboard", "group_of", "system_name", "GROUP_LABELS",
           "group_order", "csv_safe"]
