"""What a task file may say: pydantic models of the file, a task entry, its ``mteb`` target and a suite.

They check shapes and types (strict: ``"512"`` is not a number), refuse unknown keys with a "did you mean",
and check what needs no loader (a task's name, its group, sha256 pins). What depends on the loader (its
parameters, the kinds it feeds) is checked by :func:`lmkbench.tasks.catalogue.build_task` with the loader class.
"""
from __future__ import annotations

import re
from typing import Annotated

from annotated_types import MinLen

from ..configs import StrictModel, Text, checked
from ..errors import LmkbenchError
from .taskdef import GROUPS

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_SHA = re.compile(r"^[0-9a-f]{64}$")


def _task_name(name: str) -> str:
    if not _NAME.match(name):
        raise LmkbenchError(f"bad task name {name!r} (letters, digits, '_', '-', '.')")
    return name


def _group(group: str) -> str:
    if group not in GROUPS:
        raise LmkbenchError(f"group must be one of {', '.join(GROUPS)}, got {group!r}")
    return group


def _pins(sha: dict) -> dict[str, str]:
    if not all(isinstance(v, str) and _SHA.match(v.lower()) for v in sha.values()):
        raise LmkbenchError("expected a mapping of source file → 64 hex digits")
    return {str(k): v.lower() for k, v in sha.items()}


def _some(items: list) -> list:
    if not items:
        raise LmkbenchError("expected a non-empty list of task names / patterns")
    return items


class TaskFile(StrictModel):
    """The top level: ``defaults:`` merged into each of ``tasks:``, and/or one ``suite:``."""

    defaults: dict | None = None
    tasks: list[dict] | None = None
    suite: dict | None = None


class ForEach(StrictModel):
    """``for_each: {variable: [values, ...]}``, expanded before the entry is read (one task per combination)."""

    for_each: Annotated[dict[str, Annotated[list, MinLen(1)]], MinLen(1)]


class MtebTarget(StrictModel):
    """``mteb: {task, split, hf_subset}``: the mteb task that evaluates the same data (``lmkbench export``)."""

    task: Text
    split: Text | None = None
    hf_subset: Text | None = None


class TaskEntry(StrictModel):
    """One task (defaults merged, ``for_each`` expanded); ``params`` are the loader's, checked by it."""

    name: Annotated[Text, checked(_task_name)]
    loader: Text
    group: Annotated[Text, checked(_group)]
    kind: Text | None = None
    params: dict | None = None
    evaluator: dict | None = None
    subset: dict | None = None
    size: dict | None = None
    sha256: Annotated[dict, checked(_pins)] | None = None
    mteb: MtebTarget | None = None
    source: Text | None = None
    license: Text | None = None
    main_metric: Text | None = None
    description: Text | None = None
    for_each: None = None        # a grid of variables: expanded (and removed) before the entry is read


class SuiteVariant(StrictModel):
    """A suite's extra encoder setting (``variants:``): run when the user chose no length setting themselves.

    ``settings`` are :class:`~lmkbench.settings.EncoderSettings` fields (e.g. ``{positions: pi, max_length:
    4096}``); ``tasks`` (names or globs of the suite's tasks) limits the variant to where it matters; ``why``
    says why the suite reads them so (shown by ``lmkbench run``)."""

    name: Text
    settings: dict
    tasks: list[str] | None = None
    why: Text | None = None


class SuiteEntry(StrictModel):
    """``suite: {name, description, tasks, variants}``: task names, globs and ``suite:OTHER`` entries."""

    name: Text
    tasks: Annotated[list[str], checked(_some)]
    description: Text | None = None
    variants: list[SuiteVariant] = []
