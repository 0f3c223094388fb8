"""The :class:`Comparison` record: what :func:`~lmkbench.stats.compare.compare` returns, with its queries and
renderers (console table, JSON ``lmkbench.comparison/1``, pandas). Schema: :mod:`lmkbench.stats.compare`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..io import atomic_write_json
from ..results import json_safe
from . import buckets as bk
from .rows import Group, Row
from .seeds import SeedSpread
from .table import render_table

SCHEMA = "lmkbench.comparison/1"


@dataclass
class Comparison:
    """Per (task, model, pooling, bucket): n, mean, difference to the baseline with CI, p raw and adjusted."""

    settings: dict[str, Any]
    groups: list[Group]
    rows: list[Row]
    skipped: list[dict[str, str]] = field(default_factory=list)   # (task, model) without per-item scores
    seed_spread: list[SeedSpread] = field(default_factory=list)   # a matched experiment's Δs across seeds
    #: (task, group, arm) → the result record behind that row (not written to JSON): which system an arm is
    members: dict[tuple[str, str, str], Any] = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------ queries
    def select(self, *, task: str | None = None, model: str | None = None, pooling: str | None = None,
               bucket: str | None = None) -> list[Row]:
        return [r for r in self.rows
                if (task is None or r.task == task) and (model is None or r.model == model)
                and (pooling is None or r.pooling == pooling) and (bucket is None or r.bucket == bucket)]

    def cell(self, task: str, model: str, pooling: str, bucket: str = bk.ALL) -> Row:
        found = self.select(task=task, model=model, pooling=pooling, bucket=bucket)
        if not found:
            raise KeyError((task, model, pooling, bucket))
        return found[0]

    @property
    def wins(self) -> list[Row]:
        return [r for r in self.rows if r.mark == "win"]

    @property
    def losses(self) -> list[Row]:
        return [r for r in self.rows if r.mark == "loss"]

    def untrained(self) -> dict[str, dict[str, list[str]]]:
        """model → {"trained": [trained poolings], "untrained": [poolings not trained with]} where any. Where a
        comparison's arms are not poolings (``--baseline variant=…``, ``model=…``), each untrained arm is named by
        its pooling, so the warning says which pooling the checkpoint never learned."""
        out: dict[str, dict[str, list[str]]] = {}

        def add(model: str, trained, untrained) -> None:
            entry = out.setdefault(model, {"trained": [], "untrained": []})
            for key, values in (("trained", trained), ("untrained", untrained)):
                entry[key].extend(v for v in values if v not in entry[key])

        for g in self.groups:
            for arm in g.untrained:
                rec = self.members.get((g.task, g.model, arm))
                if rec is None or arm == rec.pooling:      # the arms are poolings of one checkpoint: the group
                    add(g.model, g.trained_pooling, [arm])
                else:                                       # another arrangement: name the checkpoint and pooling
                    add(rec.model, [rec.meta.trained_pooling] if rec.meta.trained_pooling else [], [rec.pooling])
        return out

    # ------------------------------------------------------------ renderers
    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA,
                "settings": json_safe(self.settings),
                "groups": [asdict(g) for g in self.groups],
                "rows": [json_safe(asdict(r)) for r in self.rows],
                "skipped": list(self.skipped),
                "seed_spread": [json_safe(asdict(s)) for s in self.seed_spread]}

    def to_json(self, path) -> Path:
        path = Path(path)
        atomic_write_json(path, self.to_dict())
        return path

    def to_dataframe(self):
        import pandas as pd

        return pd.DataFrame([asdict(r) for r in self.rows], columns=[f for f in Row.__dataclass_fields__])

    def to_table(self, layout: str = "long") -> str:
        return render_table(self, layout=layout)

    def __str__(self) -> str:
        return self.to_table()
