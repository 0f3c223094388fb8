"""The CI regression gate: fresh results against a committed baseline, cell by cell.

A *baseline* (schema ``lmkbench.baseline/1``, written by ``lmkbench baseline``) keeps, for every result
cell (task × model × pooling), the main metric, its direction, the per-item scores the paired test needs,
the dataset checksums and the model identity and encoder settings that produced it::

    {"schema": "lmkbench.baseline/1", "created", "lmkbench_version", "git_commit", "source",
     "cells": [{"task", "model", "pooling", "task_kind", "split",
                "metric",              # the main metric, e.g. "ndcg_at_10"
                "greater_is_better",   # direction of "metric" (and of the per-item score)
                "value",               # metrics[metric] of the result
                "item_metric",         # per-item field tested ("ndcg_at_10", "correct"); null: none
                "items": {id: score},  # per-query / per-item scores; null when the metric has none
                "dataset_checksums": {file: sha256}, "model_identity", "settings": {...}}]}

:func:`check` pairs every baseline cell with the result of the same key, tests the per-item scores
(paired, through :func:`lmkbench.stats.paired.run_paired` as :func:`lmkbench.stats.compare` does: a registered
test the gate offers, ``ttest`` by default; 0/1 outcomes get McNemar's test), corrects all p-values together
(Holm by default: one family, so a gate with many cells does not fail by chance), and calls a cell a **regression** when the adjusted p is below
``alpha`` *and* the metric is worse by at least ``min_delta`` in the metric's own direction. Significance
alone would fail on negligible changes over large query sets; a delta alone would fail on noise.

Unusable input is an error (the CLI exits 2), never a silent pass: a baseline cell without a result, a
different set of query ids, a different dataset checksum, a malformed baseline (an unknown key, a value that
is not a finite number), and an *untestable* cell: no per-item scores, or too few non-NaN pairs for the test.
Different model identity or settings are reported as warnings: they are the kind of change a gate exists to
judge by its scores.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from pydantic import (BaseModel, ConfigDict, StrictBool, StrictFloat, StrictStr, ValidationError, field_validator,
                      model_validator)

from .errors import InputError, LmkbenchError
from .format import fmt_diff, fmt_p, fmt_score, grid
from .io import atomic_write_json, check_output_file, read_json_document
from .results import NoItemScores, ResultRecord, check_same_data, iter_results, json_safe
from .settings import EncoderSettings
from .stats.paired import Block, Contrast, Decision, Outcome, run_paired
from .stats.registry import offered_tests
from .stats.select import Selector, check_one_system_per_label, label_fields
from .stats.settings import DEFAULTS, check_settings
from .configs.errors import input_error
from .params import did_you_mean

SCHEMA = "lmkbench.baseline/1"

def greater_is_better(metric: str, record: ResultRecord | None = None) -> bool:
    """Direction of ``metric``: the result's own declaration, else the metric registry
    (:func:`lmkbench.metrics.greater_is_better`: compare, the report and the leaderboard read the same)."""
    from .metrics import greater_is_better as registered

    return registered(metric, record.greater_is_better if record is not None else None)


Key = tuple[str, str, str]


def _fmt_key(key: Key) -> str:
    return f"task {key[0]!r}, model {key[1]!r}, pooling {key[2]!r}"


# ---------------------------------------------------------------- the baseline's shape

Number = StrictFloat   # an int or float, never a bool or a numeric string


class BaselineCell(BaseModel):
    """One gated cell: the main metric's value, its per-item scores and what produced them."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    task: StrictStr
    model: StrictStr
    pooling: StrictStr
    task_kind: Optional[str] = None
    split: Optional[str] = None
    metric: StrictStr                      # the main metric, e.g. "ndcg_at_10"
    greater_is_better: StrictBool          # direction of "metric" (and of the per-item score)
    value: Number                          # metrics[metric] of the result
    item_metric: Optional[StrictStr] = None   # per-item field tested ("ndcg_at_10", "correct"); None: none
    items: Optional[dict[str, Optional[Number]]] = None   # id -> score; None when the metric has none
    dataset_checksums: dict[str, str]
    model_identity: Optional[str] = None
    settings: dict[str, Any] = {}

    @field_validator("value")
    @classmethod
    def _finite_value(cls, v):
        if not math.isfinite(v):
            raise ValueError(f"must be a finite number, got {v} (a NaN or infinite value cannot be compared)")
        return v

    @field_validator("items")
    @classmethod
    def _finite_items(cls, items):
        bad = [k for k, v in (items or {}).items() if v is not None and not math.isfinite(v)]
        if bad:
            raise ValueError(f"per-item scores must be finite numbers or null; {items[bad[0]]} for {bad[0]!r}"
                             + (f" and {len(bad) - 1} more" if len(bad) > 1 else ""))
        return items

    @model_validator(mode="after")
    def _items_need_their_metric(self):
        if self.items is not None and self.item_metric is None:
            raise ValueError("items must come with an item_metric")
        return self

    @property
    def key(self) -> Key:
        return (self.task, self.model, self.pooling)


class Baseline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    created: Optional[str] = None
    lmkbench_version: Optional[str] = None
    git_commit: Optional[str] = None
    source: Optional[str] = None
    cells: list[BaselineCell]
    path: Optional[str] = None              # the file it was read from (not written)

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, **self.model_dump(exclude={"path"})}


# ---------------------------------------------------------------- results → cells


def cell_of(record: ResultRecord) -> BaselineCell:
    """One result record → a baseline cell (the same shape :func:`check` compares)."""
    if record.value is None or not math.isfinite(record.value):
        raise InputError(f"no finite value for the main metric {record.main_metric!r}", file=record.where,
                         field="metrics")
    try:
        name = record.item_metric()
        scores = record.scores(record.items, name)
        items = json_safe({str(i): v for i, v in zip(record.items, scores.tolist())})   # NaN -> None
    except NoItemScores:
        name, items = None, None
    meta = record.meta
    return BaselineCell(task=record.task, model=record.model, pooling=record.pooling, task_kind=record.task_kind,
                        split=record.split, metric=record.main_metric,
                        greater_is_better=greater_is_better(record.main_metric, record), value=record.value,
                        item_metric=name, items=items, dataset_checksums=dict(meta.dataset_checksums),
                        model_identity=meta.model_identity,
                        settings={k: meta.get(k) for k in EncoderSettings.GATED_KEYS if meta.has(k)})


def collect_cells(results_dir) -> dict[Key, BaselineCell]:
    """Every result under ``results_dir`` as a cell, keyed by (task, model, pooling)."""
    root = Path(results_dir)
    if not root.is_dir():
        raise LmkbenchError(f"results folder not found: {root}")
    cells: dict[Key, BaselineCell] = {}
    paths: dict[Key, str] = {}
    by_group: dict[tuple[str, str], list[ResultRecord]] = {}
    records = list(iter_results(root, on_bad="error"))
    check_one_system_per_label(records)
    for rec in records:
        cell = cell_of(rec)
        by_group.setdefault((rec.task, rec.model), []).append(rec)
        if cell.key in cells:
            raise InputError(f"second result for {_fmt_key(cell.key)} (the first is {paths[cell.key]})",
                             file=rec.where)
        cells[cell.key], paths[cell.key] = cell, rec.where
    if not cells:
        raise LmkbenchError(f"no lmkbench result files under {root}")
    for group in by_group.values():      # one (task, model)'s cells come from the same data
        check_same_data(group)
    return cells


def make_baseline(results_dir) -> Baseline:
    from . import __version__
    from .provenance import git_commit

    cells = collect_cells(results_dir)
    bare = [_fmt_key(k) for k, c in sorted(cells.items()) if c.items is None]
    if bare:
        raise LmkbenchError(f"{len(bare)} result(s) under {results_dir} have no per-item scores, so the gate could "
                            f"never test them: {'; '.join(bare[:3])}" + (" ..." if len(bare) > 3 else ""))
    return Baseline(created=time.strftime("%Y-%m-%dT%H:%M:%S%z"), lmkbench_version=__version__,
                    git_commit=git_commit(), source=str(results_dir), cells=[cells[k] for k in sorted(cells)])


def write_baseline(results_dir, path) -> Baseline:
    check_output_file(path, "baseline file")
    baseline = make_baseline(results_dir)
    atomic_write_json(path, baseline.to_json())
    return baseline


# ---------------------------------------------------------------- reading a baseline


def load_baseline(path) -> Baseline:
    """Read and validate a baseline file; every problem names the file and the field."""
    data = read_json_document(path, "baseline", SCHEMA)
    _unknown_keys(data, Baseline, "", path)
    cells = data.get("cells")
    if not isinstance(cells, list) or not cells:
        raise InputError("expected a non-empty list of cells", file=path, field="cells")
    for i, cell in enumerate(cells):
        if isinstance(cell, dict):
            _unknown_keys(cell, BaselineCell, f"cells[{i}].", path)
    try:
        base = Baseline.model_validate({k: v for k, v in data.items() if k != "schema"})
    except ValidationError as exc:
        raise input_error(exc, data, file=path) from None
    seen: set[Key] = set()
    for i, cell in enumerate(base.cells):
        if cell.key in seen:
            raise InputError(f"second cell for {_fmt_key(cell.key)}", file=path, field=f"cells[{i}]")
        seen.add(cell.key)
    base.path = str(path)
    return base


def _unknown_keys(obj: dict, model: type[BaseModel], prefix: str, path) -> None:
    """A key the baseline's model does not declare (a misspelling would otherwise be ignored): named, with the
    closest known key."""
    known = [k for k in model.model_fields if k != "path"] + (["schema"] if model is Baseline else [])
    for key in obj:
        if key not in known:
            raise InputError(f"unknown key{did_you_mean(key, known)}", file=path, field=f"{prefix}{key}")


# ---------------------------------------------------------------- the check


@dataclass
class GateRow:
    task: str
    model: str
    pooling: str
    metric: str
    greater_is_better: bool
    baseline: float
    now: float
    delta: float                 # now - baseline, in metric units
    n: int = 0                   # paired items tested
    test: str | None = None
    mean_diff: float | None = None   # mean per-item difference (now - baseline)
    p: float | None = None
    p_adj: float | None = None
    verdict: str = ""
    note: str = ""

    @property
    def worse(self) -> bool:
        return (self.delta < 0) if self.greater_is_better else (self.delta > 0)


@dataclass
class GateReport:
    rows: list[GateRow]
    settings: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    new_cells: list[str] = field(default_factory=list)    # results without a baseline cell (not gated)

    @property
    def regressions(self) -> list[GateRow]:
        return [r for r in self.rows if r.verdict == REGRESSION]

    @property
    def passed(self) -> bool:
        return not self.regressions

    def tests_used(self) -> str:
        """The test each cell was tested with, as the gate's closing line says it: ``ttest``, or
        ``ttest (2 cells), mcnemar (1 cell: binary scores)`` when binary cells switched to McNemar's test."""
        used: dict[str, int] = {}
        for r in self.rows:
            used[r.test or self.settings["test"]] = used.get(r.test or self.settings["test"], 0) + 1
        if set(used) <= {self.settings["test"]}:
            return str(self.settings["test"])
        return ", ".join(f"{t} ({n} cell{'s' if n != 1 else ''}{': binary scores' if t == 'mcnemar' else ''})"
                         for t, n in used.items())

    def to_dict(self) -> dict[str, Any]:
        return {"schema": "lmkbench.gate/1", "passed": self.passed, "settings": self.settings,
                "rows": [asdict(r) for r in self.rows], "warnings": self.warnings, "new_cells": self.new_cells}

    def to_table(self) -> str:
        head = ["task", "model", "pooling", "metric", "baseline", "now", "delta", "n", "test", "p raw", "p adj",
                "verdict"]
        body = [[r.task, r.model, r.pooling, r.metric + ("" if r.greater_is_better else " (↓)"),
                 fmt_score(r.baseline), fmt_score(r.now), fmt_diff(r.delta), str(r.n), r.test or "-", fmt_p(r.p),
                 fmt_p(r.p_adj), r.verdict] for r in self.rows]
        out = grid(head, body, right={4, 5, 6, 7, 9, 10})
        for r in self.rows:
            if r.note:
                out.append(f"  note: {r.task} / {r.model} / {r.pooling}: {r.note}")
        out += [f"warning: {w}" for w in self.warnings]
        if self.new_cells:
            out.append(f"not gated (no baseline cell): {', '.join(self.new_cells)}")
        s = self.settings
        rule = (f"test={self.tests_used()}, {s['correction']} over {s['family_size']} test(s), alpha={s['alpha']}, "
                f"min-delta={s['min_delta']}")
        if self.passed:
            out.append(f"gate: PASS ({len(self.rows)} cell(s), no significant regression; {rule})")
        else:
            names = ", ".join(f"{r.task}/{r.model}/{r.pooling} {fmt_diff(r.delta)}" for r in self.regressions)
            out.append(f"gate: FAIL ({len(self.regressions)} regression(s): {names}; {rule})")
        return "\n".join(out)


REGRESSION = "REGRESSION"


def check(results_dir, baseline, *, alpha: float = DEFAULTS["alpha"], min_delta: float = DEFAULTS["min_delta"],
          test: str = DEFAULTS["test"], correction: str = DEFAULTS["correction"],
          n_resamples: int = DEFAULTS["n_resamples"], seed: int = DEFAULTS["seed"],
          systems: str | None = None) -> GateReport:
    """Compare the results under ``results_dir`` with ``baseline`` (a path or a loaded baseline); ``systems`` (a
    selector, :mod:`lmkbench.stats.select`) gates only the cells it matches, on both sides."""
    stats = check_settings("gate", tests=offered_tests(gate=True), test=test, correction=correction, alpha=alpha,
                           min_delta=min_delta, binary_test="mcnemar")
    base = baseline if isinstance(baseline, Baseline) else load_baseline(baseline)
    where = base.path or "<baseline>"
    now_cells = collect_cells(results_dir)
    base_cells = {c.key: c for c in base.cells}
    if systems:
        keep = Selector.parse(systems, flag="--systems")
        keep.check_matches([label_fields(*k) for k in [*now_cells, *base_cells]], flag="--systems")
        now_cells = {k: c for k, c in now_cells.items() if keep.matches(label_fields(*k))}
        base_cells = {k: c for k, c in base_cells.items() if keep.matches(label_fields(*k))}
    missing = [k for k in base_cells if k not in now_cells]
    if missing:
        shown = "; ".join(_fmt_key(k) + _elsewhere(k, now_cells) for k in missing[:3]) + (
            f"; and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise LmkbenchError(f"{len(missing)} baseline cell(s) have no result under {results_dir}: {shown}")

    report = GateReport(rows=[], settings={"test": stats.test, "correction": stats.correction, "alpha": stats.alpha,
                                           "min_delta": stats.min_delta, "baseline": str(where),
                                           "results": str(results_dir)})
    report.new_cells = [f"{t}/{m}/{p}" for (t, m, p) in sorted(set(now_cells) - set(base_cells))]
    cells: list[tuple[GateRow, Block] | Untestable] = []
    for key in sorted(base_cells):
        try:
            cells.append(_pair_cell(base_cells[key], now_cells[key], where, report.warnings))
        except Untestable as exc:
            cells.append(exc)
    tested = [cell for cell in cells if not isinstance(cell, Untestable)]
    run_paired([block for _, block in tested], stats, n_resamples=n_resamples, seed=seed)   # one family
    untestable = []
    for key, cell in zip(sorted(base_cells), cells):
        problem = cell if isinstance(cell, Untestable) else _tested(*cell)
        if problem is not None:
            untestable.append(f"{_fmt_key(key)}: {problem}")
    if untestable:
        raise LmkbenchError(f"{len(untestable)} cell(s) untestable, so the gate cannot pass them (baseline {where}):"
                            + "".join(f"\n  untestable: {u}" for u in untestable))
    for row, block in tested:
        row.verdict = _verdict(row, block.outcomes[0].decision)
        report.rows.append(row)
    report.settings["family_size"] = len(report.rows)
    return report


class Untestable(LmkbenchError):
    """A cell the gate cannot test (no per-item scores, too few non-NaN pairs): an error, never a pass."""


def _elsewhere(key: Key, now_cells: dict[Key, "BaselineCell"]) -> str:
    """What the results hold instead of a missing cell: the same checkpoint's cells under other labels (other
    settings, a tagged identity), so the reader knows to match the settings or rebuild the baseline."""
    from .labels import split_label

    def base(label: str) -> str:
        return split_label(label)[0].split("@")[0]

    task, label, pooling = key
    others = sorted({m for (t, m, p) in now_cells if t == task and p == pooling and m != label
                     and base(m) == base(label)})
    if not others:
        return ""
    return (f" (found {', '.join(repr(m) for m in others)}: the same checkpoint under other settings or another "
            f"identity; run with the baseline's settings, or rebuild the baseline)")


def _pair_cell(b: BaselineCell, now: BaselineCell, where: str, warnings: list[str]) -> tuple[GateRow, Block]:
    """A cell checked against its baseline (same metric, data, items), with the block that tests it."""
    key = b.key
    if now.metric != b.metric:
        raise LmkbenchError(f"{_fmt_key(key)}: main metric is {now.metric!r} now, {b.metric!r} in the "
                            f"baseline {where}")
    for name, digest in b.dataset_checksums.items():
        got = now.dataset_checksums.get(name)
        if got != digest:
            raise LmkbenchError(f"{_fmt_key(key)}: dataset checksum of {name!r} differs from the baseline "
                                f"{where} ({(got or 'absent')[:12]} now, {digest[:12]} then): the data changed, "
                                "so the scores cannot be compared; rebuild the baseline if that was intended")
    if b.model_identity and now.model_identity and b.model_identity != now.model_identity:
        warnings.append(f"{_fmt_key(key)}: model identity differs ({now.model_identity} now, "
                        f"{b.model_identity} in the baseline)")
    changed = {k: (b.settings[k], v) for k, v in now.settings.items() if k in b.settings and b.settings[k] != v}
    if changed:
        warnings.append(f"{_fmt_key(key)}: settings differ from the baseline: "
                        + ", ".join(f"{k} {old!r} → {new!r}" for k, (old, new) in changed.items()))
    row = GateRow(task=key[0], model=key[1], pooling=key[2], metric=b.metric, greater_is_better=b.greater_is_better,
                  baseline=float(b.value), now=float(now.value), delta=float(now.value) - float(b.value))
    if b.items is None or now.items is None:
        side = "the baseline or the results" if b.items is None and now.items is None else \
            "the baseline" if b.items is None else "the results"
        raise Untestable(f"no per-item scores in {side} (a paired test needs them)")
    if now.item_metric != b.item_metric:
        raise LmkbenchError(f"{_fmt_key(key)}: per-item score is {now.item_metric!r} now, "
                            f"{b.item_metric!r} in the baseline {where}")
    ids_b, ids_n = set(b.items), set(now.items)
    if ids_b != ids_n:
        gone, new = sorted(ids_b - ids_n), sorted(ids_n - ids_b)
        raise LmkbenchError(f"{_fmt_key(key)}: the item sets differ from the baseline {where}: "
                            f"{len(gone)} missing now{_examples(gone)}, {len(new)} new{_examples(new)}")
    contrast = Contrast("now", "baseline", b_ids=sorted(ids_b), delta=row.delta,
                        greater_is_better=b.greater_is_better)
    return row, Block({"now": now.items, "baseline": b.items}, [contrast])


def _tested(row: GateRow, block: Block) -> str | None:
    """Fill ``row`` from its test; why it is untestable (no p-value), else None."""
    o: Outcome = block.outcomes[0]
    res = o.result          # never None: the gate has no min_n, every cell is tested
    if res.p is None:
        return f"{o.test} test impossible: {res.note or 'no p-value'} ({o.a.size} item(s))"
    row.n, row.test, row.mean_diff, row.p, row.p_adj = res.n, o.test, res.mean_diff, res.p, o.p_adj
    if res.n_nan:
        row.note = res.note     # "k pair(s) with NaN dropped"
    return None


def _examples(ids: list[str]) -> str:
    return f" (e.g. {', '.join(ids[:3])})" if ids else ""


def _verdict(r: GateRow, d: Decision) -> str:
    """The cell's verdict from its decision (effect: the main metric's delta; a loss needs min-delta)."""
    if r.delta == 0 and (r.mean_diff in (None, 0)):
        return "same"
    if r.worse:
        if d.mark == "loss":
            return REGRESSION
        return "worse (n.s.)" if not d.significant else "worse (< min-delta)"
    return "better" if d.significant and d.agree else "better (n.s.)"
