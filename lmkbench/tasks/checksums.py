"""Pinned source checksums: a task file says which bytes it was written for; loading checks them.

A task file's ``sha256`` maps each source file (named relative to the loader's data folder, e.g.
``corpus.jsonl`` or ``qrels/test.tsv``) to its sha256. Before a task's data is parsed, every pinned file
is hashed and compared; a difference stops the run with :class:`ChecksumError`, naming the file, the
expected and the actual digest. Users who changed data on purpose set ``LMKBENCH_NO_VERIFY=1``; the
result file then records ``checksums_verified: false``.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import LmkbenchError
from .loaders import no_verify


class ChecksumError(LmkbenchError):
    """A pinned source file has different content than the task file expects."""

    def __init__(self, task: str, file, expected: str, actual: str, task_file: str | None):
        self.task, self.file, self.expected, self.actual = task, str(file), expected, actual
        pinned = f"pinned in {task_file}" if task_file else "pinned"
        super().__init__(f"{file}: sha256 mismatch for task {task}: expected {expected} ({pinned}), actual {actual}. "
                         "The data changed; if you edited it on purpose, set LMKBENCH_NO_VERIFY=1 "
                         "or update the task file's sha256")


def verify_task(task) -> dict[str, str]:
    """Check every pinned source of a catalogue task; return ``{key: sha256}`` of the files checked."""
    if not task.sha256 or no_verify():
        return {}
    loader = task.source_loader
    loader.prepare()
    sources = loader.sources()
    verified = {}
    for key, expected in task.sha256.items():
        if key not in sources:
            raise LmkbenchError(f"task {task.name}{task.where()}: sha256 names {key!r}, but the {loader.name} loader "
                                f"reads {', '.join(sources) or 'no files'}")
        path = Path(sources[key])
        if not path.exists():
            raise LmkbenchError(f"task {task.name}: source {path} not found{task.where()}")
        actual = loader.digest(key, path)
        if actual != str(expected).lower():
            raise ChecksumError(task.name, path, str(expected).lower(), actual, task.file)
        verified[key] = actual
    return verified


def checksum_status(task) -> str:
    """One word for listings: ok | changed | unpinned | skipped (LMKBENCH_NO_VERIFY) | absent | network."""
    status, _ = task.availability()
    if status == "network":
        return "network"
    if status != "yes":
        return "absent"
    if not task.sha256:
        return "unpinned"
    if no_verify():
        return "skipped"
    try:
        verify_task(task)
    except ChecksumError:
        return "changed"
    return "ok"
