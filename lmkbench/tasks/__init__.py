"""Tasks: what to evaluate, resolved from a spec string.

``beir:PATH[#split]`` names a local BEIR folder. (The task catalogue, task files in ``tasks/`` and suites
extend this module.)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import LmkbenchError


@dataclass
class TaskDef:
    """A resolved task: a name, a kind (retrieval|classification|clustering) and how to load its data."""

    name: str
    kind: str
    loader: Callable[..., Any]
    params: dict[str, Any] = field(default_factory=dict)
    evaluator_options: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    license: str = ""
    group: str = ""            # leaderboard column group: short/long retrieval, synthetic, clustering, classification
    needs_tokenizer: bool = False

    def load(self, tokenizer=None):
        if self.needs_tokenizer:
            return self.loader(tokenizer=tokenizer, **self.params)
        return self.loader(**self.params)


def _beir_task(spec: str) -> TaskDef:
    from ..data.beir import load_beir_folder

    body = spec.split(":", 1)[1]
    path, _, split = body.partition("#")
    split = split or "test"
    folder = Path(path).expanduser()
    name = folder.resolve().name if folder.exists() else folder.name
    if split != "test":
        name = f"{name}-{split}"
    return TaskDef(name=name, kind="retrieval", loader=load_beir_folder,
                   params={"folder": str(folder), "split": split, "name": name}, source=spec)


def resolve_tasks(spec: str) -> list[TaskDef]:
    """A task spec → the tasks it names (a suite or a generator may name several)."""
    spec = spec.strip()
    if spec.startswith("beir:"):
        return [_beir_task(spec)]
    raise LmkbenchError(f"unknown task {spec!r} (use beir:PATH[#split])")
