"""Run the leaderboard grid (models × poolings × tasks) through the ordinary :class:`~lmkbench.runner.Runner`.

The runner already makes a grid resumable: one result file per cell, finished cells skipped, embeddings
cached; so the leaderboard is only a loop over models (one model in memory at a time) and a list of the
cells it expects, which :func:`collect` reads back. A model whose cells are all done is never loaded.
"""
from __future__ import annotations

import gc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import LmkbenchError
from ..models import model_label as _dense_label
from ..results import Cell, ResultRecord
from ..tasks import TaskDef, resolve_tasks
from .config import LeaderboardConfig, ModelEntry


@dataclass
class GridCell:
    model: ModelEntry
    label: str
    pooling: str
    task: TaskDef

    @property
    def cell(self) -> Cell:
        return Cell(self.task.name, self.label, self.pooling)


@dataclass
class GridRun:
    computed: int = 0
    failures: list[str] = field(default_factory=list)     # "model / task: error", with on_error: skip


def resolve_grid_tasks(config: LeaderboardConfig) -> list[TaskDef]:
    """Every task the config names, once each (by name), in the order given."""
    tasks: dict[str, TaskDef] = {}
    for spec in config.task_specs:
        for task in resolve_tasks(spec):
            tasks.setdefault(task.name, task)
    return list(tasks.values())


def model_label(entry: ModelEntry, overrides: dict | None = None) -> str:
    """The label results are written under: a checkpoint's with its settings variant
    (:func:`lmkbench.labels.label_for`), or a lexical system's (``bm25``)."""
    from ..bm25 import is_lexical, parse_system, system_label
    from ..labels import label_for

    if is_lexical(entry.model):
        return system_label(parse_system(entry.model))
    return label_for(_dense_label(entry.model), entry.encoder(**(overrides or {})))


def grid_cells(config: LeaderboardConfig, tasks: list[TaskDef], overrides: dict | None = None) -> list[GridCell]:
    return [GridCell(m, model_label(m, overrides), p, t) for m in config.models for t in tasks for p in m.poolings]


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` (0 ≤ I < N) → ``(I, N)``: this job's share of the grid."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise LmkbenchError(f"--shard {text!r}: expected I/N, e.g. 0/8") from None
    if n < 1 or not 0 <= i < n:
        raise LmkbenchError(f"--shard {text!r}: need 0 <= I < N")
    return i, n


def in_shard(model_index: int, task_index: int, n_tasks: int, shard: tuple[int, int] | None) -> bool:
    """Whether (model, task) — all its poolings together, so they share forward passes — is this job's."""
    if shard is None:
        return True
    i, n = shard
    return (model_index * n_tasks + task_index) % n == i


def run_grid(config: LeaderboardConfig, tasks: list[TaskDef], *, overwrite: bool = False, progress: bool = True,
             overrides: dict | None = None, log: Callable[[str], None] = print,
             shard: tuple[int, int] | None = None) -> GridRun:
    """Compute every missing cell; with ``on_error: skip`` a task that fails is reported and left out.

    ``shard=(I, N)`` computes only the (model, task) pairs whose index in the grid is I modulo N, so N jobs
    (a SLURM array, any scheduler) split a grid; results merge because each cell is its own file.
    """
    from ..runner import Runner, RunSettings

    out = GridRun()
    for m, entry in enumerate(config.models):
        label = model_label(entry, overrides)
        identity = _local_identity(entry)
        todo = [t for k, t in enumerate(tasks) if in_shard(m, k, len(tasks), shard) and (
            overwrite or not all(current(find_cell(config.results, Cell(t.name, label, p), identity), identity)
                                 for p in entry.poolings))]
        if not todo:
            log(f"{label}: all {'of this shard' if shard else len(tasks) * len(entry.poolings)} cells done")
            continue
        settings = RunSettings(model=entry.model, poolings=entry.poolings, out_dir=config.results,
                               encoder=entry.encoder(**(overrides or {})), overwrite=overwrite, progress=progress)
        runner = Runner(settings, log=log)
        for task in todo:
            try:
                out.computed += len(runner.run_task(task))
            except LmkbenchError as exc:
                if config.on_error != "skip":
                    raise
                out.failures.append(f"{label} / {task.name}: {exc}")
                log(f"skipped {label} / {task.name}: {exc}")
        del runner
        gc.collect()
        _free_gpu_memory()
    return out


def current(rec: ResultRecord | None, identity: str | None) -> bool:
    """Whether a finished cell can stand without loading its model: it exists, was computed by today's code
    (``meta.system.code``) from today's checkpoint (``identity``: :func:`_local_identity`, read from the files).
    Anything else (a hub model, a lexical system: no identity without loading) goes to the runner, which checks
    the whole system and recomputes what differs."""
    from ..system import System, result_code_digest

    if rec is None or identity is None or not isinstance(rec.meta.get("system"), dict):
        return False
    system = System.from_record(rec)
    return system.code == result_code_digest() and system.identity == identity


def _local_identity(entry: ModelEntry) -> str | None:
    """A local checkpoint's content identity (read from its files, no model loaded); None for a hub model or a
    lexical system, whose cells are found by label alone."""
    import os

    from ..bm25 import is_lexical
    from ..models import model_identity, resolve_model_path

    if is_lexical(entry.model):
        return None
    try:
        path = resolve_model_path(entry.model)
    except LmkbenchError:
        return None
    return model_identity(entry.model, path) if os.path.isdir(path) else None


def find_cell(results, cell: Cell, identity: str | None) -> ResultRecord | None:
    """The grid cell's record: under its label when that cell is this checkpoint's (``identity``, where known),
    else under the label the runner tagged for it when another checkpoint held the name (``name@hash~variant``:
    :mod:`lmkbench.reuse`); never another checkpoint's cell."""
    from ..io import safe_child
    from ..labels import split_label
    from ..results import read_result
    from ..system import System

    def own(rec: ResultRecord | None) -> bool:
        return rec is not None and (identity is None or System.from_record(rec).identity == identity)

    rec = cell.read(results)
    if own(rec) or identity is None:
        return rec
    name, variant = split_label(cell.model)
    folder = safe_child(results, cell.task)
    for path in sorted(folder.glob(f"*/{Path(cell.path(results)).name}")) if folder.is_dir() else []:
        try:
            other = read_result(path)
        except LmkbenchError:
            continue
        base, var = split_label(other.model)
        if base.split("@")[0] == name and var == variant and other.pooling == cell.pooling and own(other):
            return other
    return None


def _free_gpu_memory() -> None:
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover
        pass


def collect(config: LeaderboardConfig, tasks: list[TaskDef],
            overrides: dict | None = None) -> tuple[list[ResultRecord], list[str]]:
    """The result records of the grid's cells that exist, and the cells that do not (``task/model/pooling``)."""
    records, missing = [], []
    identities: dict[str, str | None] = {}
    for gc_ in grid_cells(config, tasks, overrides):
        cell = gc_.cell
        if gc_.model.model not in identities:
            identities[gc_.model.model] = _local_identity(gc_.model)
        rec = find_cell(config.results, cell, identities[gc_.model.model])
        if rec is not None:
            rec.task_group = rec.task_group or gc_.task.group
            records.append(rec)
        else:
            missing.append(f"{cell.task}/{cell.model}/{cell.pooling}")
    return records, missing
