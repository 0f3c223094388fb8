"""The leaderboard: run a grid of models × poolings × tasks (resumable, through the Runner), then rank the
systems with significance and write ``leaderboard.csv``, ``leaderboard.json`` and ``leaderboard.html``.

    from lmkbench.leaderboard import load_config, make_leaderboard
    lb = make_leaderboard(load_config("configs/leaderboard-example.yaml"))
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..io import atomic_write_json, atomic_write_text
from .board import GROUP_LABELS, Leaderboard, SystemRow, TaskColumn, build_leaderboard
from .config import LeaderboardConfig, ModelEntry, load_config
from .grid import GridRun, collect, grid_cells, parse_shard, resolve_grid_tasks, run_grid
from .html import render_html

__all__ = ["GROUP_LABELS", "Leaderboard", "SystemRow", "TaskColumn", "build_leaderboard", "LeaderboardConfig",
           "ModelEntry", "load_config", "GridRun", "collect", "grid_cells", "parse_shard", "resolve_grid_tasks", "run_grid",
           "render_html", "make_leaderboard", "write_outputs"]


def make_leaderboard(config: LeaderboardConfig, *, run: bool = True, overwrite: bool = False, progress: bool = True,
                     overrides: dict | None = None, log: Callable[[str], None] = print) -> Leaderboard:
    """Run the missing cells of the grid (unless ``run=False``), then build the ranked leaderboard."""
    from ..errors import LmkbenchError

    tasks = resolve_grid_tasks(config)
    failures: list[str] = []
    if run:
        failures = run_grid(config, tasks, overwrite=overwrite, progress=progress, overrides=overrides,
                            log=log).failures
    records, missing = collect(config, tasks, overrides)
    if not records:
        raise LmkbenchError(f"no results for any cell of the grid under {config.results}"
                            + ("" if run else " (run without --no-run to compute them)"))
    lb = build_leaderboard(records, title=config.title, groups=config.groups, missing=missing, **config.ranking)
    lb.notes.extend(f"failed: {f}" for f in failures)
    return lb


def write_outputs(lb: Leaderboard, out_dir) -> dict[str, Path]:
    out = Path(out_dir)
    paths = {"csv": out / "leaderboard.csv", "json": out / "leaderboard.json", "html": out / "leaderboard.html"}
    atomic_write_text(paths["csv"], lb.to_csv())
    atomic_write_json(paths["json"], lb.to_dict())
    atomic_write_text(paths["html"], render_html(lb))
    return paths
