"""When a finished result cell may be reused, and where a system's cells are filed.

A cell is filed under ``OUT/<task>/<label>/<pooling>.json``, where ``<task>`` and ``<label>`` are the task's name
and the system's label (:attr:`lmkbench.system.System.label`) unless another task or system already holds
that folder: then a short hash of the identity is added (``b1@3fa2c1``, ``tinybert@9e01d2~pi-256``). Who holds a
folder is read from its records (:meth:`System.from_record`, :meth:`TaskRef.from_record`), never guessed from
names; a folder of records written before identities were recorded belongs to whoever runs into it (its cells
are stale and are recomputed in place).

A finished cell is reused by ``lmkbench run`` only when its whole :class:`~lmkbench.system.System`
(:meth:`~lmkbench.system.System.full_key`: checkpoint identity, settings, pooling, code), the task's identity,
its data checksums and the evaluator's options equal today's; otherwise it is recomputed and the run says what
differed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from .errors import InputError
from .io import safe_child
from .labels import with_variant
from .results import ResultRecord, read_result
from .system import System, TaskRef, differences as key_differences


def _records(folder: Path, depth: int) -> Iterator[ResultRecord]:
    """Readable result records ``depth`` levels below ``folder`` (sorted paths), lazily."""
    if not folder.is_dir():
        return
    for path in sorted(folder.glob("/".join(["*"] * (depth - 1) + ["*.json"]))):
        if path.name.startswith(".") or not path.is_file():
            continue
        try:
            yield read_result(path)
        except InputError:
            continue


def _tagged(name: str, digest: str | None) -> str:
    return f"{name}@{(digest or 'unknown')[:6]}"


def task_folder(out_dir, task: TaskRef) -> str:
    """The name ``task``'s cells are filed under in ``out_dir``: its own, or ``name@<hash>`` when that folder
    holds another task (other data under the same name)."""
    owner = next(_records(safe_child(out_dir, task.name), 2), None)
    if owner is None:
        return task.name
    held = TaskRef.from_record(owner).identity
    return task.name if held in (None, task.identity) else _tagged(task.name, task.identity)


def system_label(out_dir, task_name: str, system: System) -> str:
    """The label ``system``'s cells of a task are filed under: :attr:`System.label`, or the name tagged with a
    short hash of its checkpoint key when that folder holds another system (another checkpoint, dtype,
    length...)."""
    natural = system.label
    owner = next(_records(safe_child(out_dir, task_name, natural), 1), None)
    if owner is None or owner.meta.get("system") is None:
        return natural
    if System.from_record(owner).checkpoint_key() == system.checkpoint_key():
        return natural
    return with_variant(_tagged(system.name, system.checkpoint_digest()), system.variant)


def producing(system: System, task: TaskRef, checksums: dict, evaluator_options: dict) -> dict[str, Any]:
    """What would produce a cell now: the system (all of it), the task's identity, data and evaluator options."""
    return {"system": system.full_key(), "task_identity": task.identity,
            "dataset_checksums": dict(checksums or {}), "evaluator_options": dict(evaluator_options or {})}


def differences(record: ResultRecord, expected: dict[str, Any]) -> list[str]:
    """``key: recorded → now`` for everything in ``expected`` that the record does not match (empty: reusable).
    A record written before a key existed differs in it (its code is unknown: it is recomputed)."""
    have = {"system": System.from_record(record).full_key(),
            "task_identity": TaskRef.from_record(record).identity,
            "dataset_checksums": dict(record.meta.dataset_checksums),
            "evaluator_options": record.meta.get("evaluator_options", {})}
    return key_differences(have, expected)
