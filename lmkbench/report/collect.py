"""Group result files into the sections of a report.

A report section is one task evaluated by one model (all its poolings), except for synthetic long-context
tasks: ``passkey_256``, ``passkey_512``, … are written as one task per target length, but they are one
experiment, so they are gathered into a *family* section keyed by their name prefix (``passkey``) and
shown together (a table over target lengths, a score-vs-length figure, depth heatmaps). A task is
synthetic when its per-query records carry ``target_length``.

Poolings are ordered as in the :class:`~lmkbench.stats.Comparison`: the baseline first, then sorted.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..results import ResultRecord
from ..stats.select import canonical_pooling
from ..order import task_order

SYNTHETIC_NAME = re.compile(r"^(?P<prefix>.+?)[_-](?P<length>\d+k?)$", re.IGNORECASE)
GROUP_ORDER = ("short", "long", "retrieval", "synthetic", "classification", "clustering")


def group_rank(group: str) -> int:
    """Sections of short-document retrieval first, then long, other retrieval, classification, clustering."""
    g = group.lower()
    return next((i for i, word in enumerate(GROUP_ORDER) if word in g), len(GROUP_ORDER))


@dataclass
class Section:
    """One block of the report: a (task, model), or a family of synthetic tasks for one model."""

    anchor: str
    title: str
    model: str
    kind: str                                   # task_kind of its results
    tasks: list[str]                            # one task, or the family's tasks by target length
    main_metric: str
    poolings: list[str]                         # baseline first, then sorted
    records: dict[str, dict[str, ResultRecord]]   # task -> pooling -> result record
    synthetic: bool = False
    group: str = ""                             # the task's column group (e.g. "long retrieval")
    notes: list[str] = field(default_factory=list)

    @property
    def is_family(self) -> bool:
        return len(self.tasks) > 1

    def items(self, pooling: str) -> dict[str, dict[str, Any]]:
        """Per-item records of ``pooling`` over the section's tasks (ids ``task/id`` in a family)."""
        out: dict[str, dict[str, Any]] = {}
        for task in self.tasks:
            rec = self.records[task].get(pooling)
            if rec is None:
                continue
            for item_id, item in rec.items.items():
                out[f"{task}/{item_id}" if self.is_family else item_id] = item
        return out

    def split_id(self, item_id: str) -> tuple[str, str]:
        """``(task, id inside the task)`` of an id returned by :meth:`items`."""
        if self.is_family:
            task, _, inner = item_id.partition("/")
            return task, inner
        return self.tasks[0], item_id


def is_synthetic(record: ResultRecord) -> bool:
    return any(it.get("target_length") is not None for it in record.items.values())


def family_prefix(task: str) -> str:
    m = SYNTHETIC_NAME.match(task)
    return m.group("prefix") if m else task


def order_poolings(poolings, baseline: str) -> list[str]:
    base = canonical_pooling(baseline)
    pools = set(poolings)
    return ([base] if base in pools else []) + sorted(p for p in pools if p != base)


def anchor_for(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"
    anchor, i = base, 2
    while anchor in taken:
        anchor, i = f"{base}-{i}", i + 1
    taken.add(anchor)
    return anchor


def build_sections(records: list[ResultRecord], baseline: str) -> list[Section]:
    """Sections in report order: ordinary tasks (by group, then name), then synthetic families."""
    by_task_model: dict[tuple[str, str], dict[str, ResultRecord]] = {}
    for rec in records:
        by_task_model.setdefault((rec.task, rec.model), {})[canonical_pooling(rec.pooling)] = rec
    models = sorted({m for _, m in by_task_model})
    plain: dict[tuple[str, str], dict[str, dict[str, ResultRecord]]] = {}
    families: dict[tuple[str, str], dict[str, dict[str, ResultRecord]]] = {}
    for (task, model), pools in by_task_model.items():
        if any(is_synthetic(r) for r in pools.values()):
            families.setdefault((family_prefix(task), model), {})[task] = pools
        else:
            plain[(task, model)] = {task: pools}
    taken: set[str] = set()
    sections: list[Section] = []

    def make(name, model, tasks, synthetic):
        first = next(iter(tasks.values()))
        rec0 = next(iter(first.values()))
        task_names = sorted(tasks, key=task_order)
        title = name if len(models) == 1 else f"{name} — {model}"
        sec = Section(anchor=anchor_for(title, taken), title=title, model=model,
                      kind=rec0.task_kind or "retrieval", tasks=task_names, main_metric=rec0.main_metric,
                      poolings=order_poolings({p for t in tasks.values() for p in t}, baseline),
                      records={t: tasks[t] for t in task_names}, synthetic=synthetic,
                      group=rec0.task_group or "")
        metrics = {r.main_metric for t in tasks.values() for r in t.values()}
        if len(metrics) > 1:
            sec.notes.append(f"tasks of this family report different main metrics ({', '.join(sorted(metrics))}); "
                             f"{sec.main_metric} is shown")
        return sec

    def order(name: str, tasks: dict[str, dict[str, ResultRecord]], model: str) -> tuple:
        rec = next(iter(next(iter(tasks.values())).values()))
        group = rec.task_group or ""
        kind_rank = 0 if (rec.task_kind or "retrieval") == "retrieval" else 1
        return (kind_rank, group_rank(group), group, task_order(name), model)

    todo = [(order(task, tasks, model), task, model, tasks, False) for (task, model), tasks in plain.items()]
    todo += [(order(prefix, tasks, model), prefix, model, tasks, True) for (prefix, model), tasks in families.items()]
    for _, name, model, tasks, synthetic in sorted(todo, key=lambda t: t[0]):
        sections.append(make(name, model, tasks, synthetic=synthetic))
    return sections
