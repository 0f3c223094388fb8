"""Tasks: what to evaluate, resolved from a spec string.

A spec is one of

* ``suite:NAME`` — the tasks of a suite (``lmkbench run --suite NAME``);
* a catalogue name (``scifact``, ``passkey_1024``) or a glob over names (``passkey_*``);
* a path to a task file (``my_task.yaml``);
* an ad-hoc loader spec ``SCHEME:ARG[?key=value&...]``: ``beir:PATH[#split]``, ``beir-download:NAME[#split]``,
  ``mteb:NAME[#split]``, ``labelled:PATH?kind=clustering``, ``bbc[:VIEW]``, ``passkey[:LENGTHS]``,
  ``needle[:LENGTHS]``; ``group=`` and ``kind=`` may be given as options.

A task's name identifies its data: an ad-hoc spec whose default name is a catalogue task's name but whose
data differs (another loader, parameters, split, or the catalogue's subset) is renamed
``NAME-adhoc-<8 hex digits of its data identity>`` (:func:`data_identity`), so two different evaluations
never share a name in a results folder; a spec that reads exactly the catalogue task's data keeps the name.

The catalogue lives in YAML task files (see :mod:`lmkbench.tasks.catalogue`); loaders are registered
classes (:mod:`lmkbench.tasks.loaders`). ``TaskDef.load`` checks availability and pinned checksums first.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from urllib.parse import parse_qsl

from ..errors import LmkbenchError
from .catalogue import Catalogue, Suite, load_catalogue, read_task_file, shared_data_root
from .registry import LOADERS, loader_class
from .taskdef import GROUPS, KINDS, TaskDef
from ..params import did_you_mean

__all__ = ["TaskDef", "resolve_tasks", "load_catalogue", "Catalogue", "Suite", "adhoc_tasks", "KINDS", "GROUPS",
           "shared_data_root", "LOADERS", "data_identity"]


def _default_group(kind: str, loader) -> str:
    if kind in ("classification", "clustering"):
        return kind
    if loader.needs_tokenizer:
        return "synthetic"
    return "short-retrieval" if loader.name == "bbc" else ""


def data_identity(task: TaskDef) -> str:
    """A digest of what a task evaluates: loader, parameters (paths resolved), subset and evaluator options."""
    params = dict(task.params)
    loader = task.source_loader
    for key in getattr(loader, "path_params", ()):
        if params.get(key) is not None:
            params[key] = os.path.realpath(os.path.expanduser(str(params[key])))
    doc = {"loader": task.loader_name, "kind": task.kind, "params": params, "subset": task.subset or None,
           "evaluator": task.evaluator_options or {}}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def _own_names(tasks: list[TaskDef], dirs=None) -> list[TaskDef]:
    """Rename ad-hoc tasks whose name is a catalogue task's name but whose data differs."""
    if not tasks:
        return tasks
    catalogue = load_catalogue(dirs).tasks
    for t in tasks:
        known = catalogue.get(t.name)
        if known is not None and data_identity(known) != data_identity(t):
            t.name = f"{t.name}-adhoc-{data_identity(t)[:8]}"
    return tasks


def adhoc_tasks(spec: str, dirs=None) -> list[TaskDef]:
    """``SCHEME[:ARG][?k=v&...]`` → tasks built from a registered loader, without a task file."""
    head, _, arg = spec.partition(":")
    cls = loader_class(head)
    arg, _, query = arg.partition("?")
    options = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
    group = options.pop("group", None)
    kind_opt = options.get("kind") if cls.name == "labelled" else options.pop("kind", None)
    tasks = []
    for entry in cls.from_spec(arg, options):
        loader = cls(**cls.validate(entry["params"], where=f"--task {spec}"))
        kind = kind_opt or entry.get("kind") or loader.kind()
        if kind not in cls.kinds:
            raise LmkbenchError(f"--task {spec}: kind {kind!r} is not one the {cls.name} loader feeds "
                                f"({', '.join(cls.kinds)})")
        tasks.append(TaskDef(name=entry["name"], kind=kind, params=loader.p,
                             source=loader.describe(), group=group or _default_group(kind, cls),
                             needs_tokenizer=cls.needs_tokenizer, loader_name=cls.name, source_loader=loader))
    return _own_names(tasks, dirs)


def resolve_tasks(spec: str, dirs=None) -> list[TaskDef]:
    """A task spec → the tasks it names (a suite, a glob or a generator may name several)."""
    spec = spec.strip()
    if not spec:
        raise LmkbenchError("empty task spec")
    if spec.startswith("suite:"):
        return load_catalogue(dirs).suite_tasks(spec[6:].strip())
    head = spec.partition(":")[0]
    if head in LOADERS:
        return adhoc_tasks(spec, dirs)
    cat = load_catalogue(dirs)
    if spec in cat.tasks:
        return [cat.tasks[spec]]
    if spec.endswith((".yaml", ".yml")):
        path = Path(spec).expanduser()
        if not path.is_file():
            raise LmkbenchError(f"task file {spec} not found")
        tasks, suites = read_task_file(path)
        for s in suites:  # a suite in a standalone file refers to catalogue tasks (or its own)
            local = Catalogue(tasks={**cat.tasks, **{t.name: t for t in tasks}}, suites={**cat.suites, s.name: s})
            tasks.extend(t for t in local.suite_tasks(s.name) if t not in tasks)
        if not tasks:
            raise LmkbenchError(f"task file {spec} defines no tasks")
        return tasks
    if any(c in spec for c in "*?["):
        found = cat.match(spec)
        if not found:
            raise LmkbenchError(f"no catalogue task matches {spec!r} (see 'lmkbench tasks')")
        return found
    raise LmkbenchError(f"unknown task {spec!r}{did_you_mean(spec, cat.tasks, n=3)} (a catalogue name from 'lmkbench tasks', suite:NAME, "
                        f"or SCHEME:ARG with scheme one of {', '.join(e.name for e in LOADERS)})")
