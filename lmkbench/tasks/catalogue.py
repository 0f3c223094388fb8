"""The task catalogue: declarative YAML task files, read into :class:`TaskDef` values, and suites.

Where task files are found, first match of a name wins:

1. ``--tasks-dir DIR`` (``lmkbench tasks``) / the ``dirs`` argument;
2. ``$LMKBENCH_TASKS`` (folders separated by ``os.pathsep``);
3. the catalogue shipped inside the package, ``lmkbench/catalogue/`` (package data: present in a clone, an
   editable install and a wheel alike).

A task file (any ``*.yaml``/``*.yml`` below those folders) holds ``tasks:`` (a list of task entries),
optional ``defaults:`` merged into each entry, and/or ``suite:`` (one suite). Paths in ``params`` are
relative to the task file's folder and may use ``${LMKBENCH_SHARED_DATA}`` (default: ``../shared/data``
next to a clone, where CI puts the real datasets; ``$LMKBENCH_DATA/shared`` for an installed wheel), ``${LMKBENCH_DATA}`` (download cache, default
``~/.cache/lmkbench/data``) or any other environment variable. See the README, "Tasks and suites".
"""
from __future__ import annotations

import fnmatch
import itertools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError, LmkbenchError
from .loaders import LOADERS, Loader, loader_class
from .paths import ENV_SHARED, builtin_tasks_dir, package_dir, repo_root, shared_data_root  # noqa: F401  (re-exported)
from .taskdef import GROUPS, KINDS, TaskDef

ENV_TASKS = "LMKBENCH_TASKS"
FILE_KEYS = {"defaults", "tasks", "suite"}
TASK_KEYS = {"name", "kind", "group", "loader", "params", "evaluator", "source", "license", "sha256", "subset",
             "main_metric", "description", "size", "for_each", "mteb"}
MTEB_KEYS = {"task", "split", "hf_subset"}
SUITE_KEYS = {"name", "description", "tasks"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SHA = re.compile(r"^[0-9a-f]{64}$")


def _default_vars() -> dict[str, str]:
    from ..data.beir_download import default_data_dir

    return {ENV_SHARED: str(shared_data_root()), "LMKBENCH_DATA": str(default_data_dir())}


def task_dirs(extra=None) -> list[Path]:
    dirs = [Path(d).expanduser() for d in (extra or [])]
    env = os.environ.get(ENV_TASKS, "")
    dirs += [Path(d).expanduser() for d in env.split(os.pathsep) if d.strip()]
    builtin = builtin_tasks_dir()
    if builtin.is_dir():
        dirs.append(builtin)
    for d in dirs:
        if not d.is_dir():
            raise LmkbenchError(f"tasks folder {d} not found (from --tasks-dir or ${ENV_TASKS})")
    return list(dict.fromkeys(d.resolve() for d in dirs))


def expand_path(value: str, file: Path, line: int | None = None, field: str | None = None) -> str:
    """``${VAR}`` from the environment (with defaults for lmkbench's own roots), relative to the file's folder."""
    defaults = None

    def sub(m):
        nonlocal defaults
        name = m.group(1)
        if name in os.environ:
            return os.environ[name]
        defaults = defaults or _default_vars()
        if name in defaults:
            return defaults[name]
        raise InputError(f"environment variable ${{{name}}} is not set", file=file, line=line, field=field)

    text = _VAR.sub(sub, str(value))
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = file.parent / path
    return os.path.normpath(str(path))


# -- YAML with line numbers -----------------------------------------------------------------------------------
class LineDict(dict):
    """A mapping that remembers the line of each key (for errors that point at the task file)."""

    line: int = 0

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.lines: dict[str, int] = {}


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader, node):
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_LineLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        msg = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"malformed YAML: {msg}", file=path, line=mark.line + 1 if mark else None) from None


def _line(d, key=None) -> int | None:
    if isinstance(d, LineDict):
        return d.lines.get(key, d.line) if key is not None else d.line
    return None


# -- suites and the catalogue ---------------------------------------------------------------------------------
@dataclass
class Suite:
    name: str
    tasks: list[str]
    description: str = ""
    file: str | None = None
    line: int | None = None


@dataclass
class Catalogue:
    tasks: dict[str, TaskDef] = field(default_factory=dict)
    suites: dict[str, Suite] = field(default_factory=dict)
    dirs: list[Path] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    def task(self, name: str) -> TaskDef:
        try:
            return self.tasks[name]
        except KeyError:
            raise LmkbenchError(_unknown("task", name, self.tasks)) from None

    def match(self, pattern: str) -> list[TaskDef]:
        return [t for n, t in self.tasks.items() if fnmatch.fnmatchcase(n, pattern)]

    def suite_tasks(self, name: str, _seen: tuple = ()) -> list[TaskDef]:
        """A suite's tasks in order, patterns and nested ``suite:`` entries expanded, duplicates removed."""
        if name not in self.suites:
            raise LmkbenchError(_unknown("suite", name, self.suites))
        if name in _seen:
            raise LmkbenchError(f"suite {name!r} includes itself (via {' → '.join(_seen)})")
        suite = self.suites[name]
        out: dict[str, TaskDef] = {}
        for item in suite.tasks:
            if item.startswith("suite:"):
                found = self.suite_tasks(item[6:], _seen + (name,))
            elif any(c in item for c in "*?["):
                found = self.match(item)
            else:
                found = [self.tasks[item]] if item in self.tasks else []
            if not found:
                raise InputError(f"suite {name!r}: {item!r} names no task in the catalogue", file=suite.file,
                                 line=suite.line, field="tasks")
            for t in found:
                out.setdefault(t.name, t)
        return list(out.values())


def _unknown(what: str, name: str, known) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"unknown {what} {name!r}{hint} (see 'lmkbench tasks')"


_CACHE: dict[tuple, Catalogue] = {}


def load_catalogue(dirs=None) -> Catalogue:
    """Read every task file of the task folders (cached until a file changes)."""
    folders = task_dirs(dirs)
    files = [(d, f) for d in folders for f in sorted(itertools.chain(d.rglob("*.yaml"), d.rglob("*.yml")))]
    key = (tuple(folders), tuple((str(f), f.stat().st_mtime_ns) for _, f in files),
           os.environ.get(ENV_SHARED), os.environ.get("LMKBENCH_DATA"))
    if key in _CACHE:
        return _CACHE[key]
    cat = Catalogue(dirs=folders, files=[f for _, f in files])
    owner: dict[str, tuple[Path, Path]] = {}
    for folder, path in files:
        tasks, suites = read_task_file(path)
        for t in tasks:
            if t.name in owner:
                prev_dir, prev_file = owner[t.name]
                if prev_dir == folder:
                    raise InputError(f"task {t.name!r} is also defined in {prev_file}", file=path, field="name")
                continue  # an earlier folder (user tasks) overrides
            owner[t.name] = (folder, path)
            cat.tasks[t.name] = t
        for s in suites:
            if s.name in cat.suites:
                if Path(cat.suites[s.name].file).parent.resolve() == path.parent.resolve():
                    raise InputError(f"suite {s.name!r} is also defined in {cat.suites[s.name].file}", file=path)
                continue
            cat.suites[s.name] = s
    _CACHE.clear()
    _CACHE[key] = cat
    return cat


# -- one task file --------------------------------------------------------------------------------------------
def read_task_file(path) -> tuple[list[TaskDef], list[Suite]]:
    path = Path(path).resolve()
    doc = read_yaml(path)
    if doc is None:
        return [], []
    if not isinstance(doc, dict):
        raise InputError("a task file is a mapping with 'tasks:' and/or 'suite:'", file=path, line=1)
    unknown = set(doc) - FILE_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise InputError(f"unknown key (allowed: {', '.join(sorted(FILE_KEYS))})", file=path, line=_line(doc, key),
                         field=key)
    defaults = doc.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise InputError("expected a mapping", file=path, line=_line(doc, "defaults"), field="defaults")
    entries = doc.get("tasks") or []
    if not isinstance(entries, list):
        raise InputError("expected a list of task entries", file=path, line=_line(doc, "tasks"), field="tasks")
    tasks = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise InputError("a task entry is a mapping", file=path, line=_line(doc, "tasks"), field="tasks")
        for expanded in _expand(_merge(defaults, entry), path):
            tasks.append(build_task(expanded, path))
    suites = [_suite(doc["suite"], path, _line(doc, "suite"))] if "suite" in doc else []
    return tasks, suites


def _merge(defaults: dict, entry: dict) -> dict:
    out = LineDict({**defaults, **entry})
    out.line, out.lines = _line(entry) or 0, {**getattr(defaults, "lines", {}), **getattr(entry, "lines", {})}
    for key in ("params", "evaluator", "size"):
        if isinstance(defaults.get(key), dict) and isinstance(entry.get(key), dict):
            out[key] = {**defaults[key], **entry[key]}
    return out


def _expand(entry: dict, path: Path) -> list[dict]:
    """``for_each: {length: [256, 512]}`` → one entry per value; ``{length}`` is substituted in the name,
    the description and string parameters (a parameter that is exactly ``"{length}"`` takes the value itself)."""
    grid = entry.get("for_each")
    if grid is None:
        return [entry]
    if not isinstance(grid, dict) or not grid or not all(isinstance(v, list) and v for v in grid.values()):
        raise InputError("expected a mapping of variable → non-empty list", file=path, line=_line(entry, "for_each"),
                         field="for_each")
    out = []
    for values in itertools.product(*grid.values()):
        env = dict(zip(grid, values))
        e = LineDict({k: v for k, v in entry.items() if k != "for_each"})
        e.line, e.lines = entry.line if isinstance(entry, LineDict) else 0, getattr(entry, "lines", {})
        for key in ("name", "description", "source"):
            if isinstance(e.get(key), str):
                e[key] = _fill(e[key], env)
        if isinstance(e.get("params"), dict):
            e["params"] = {k: _fill(v, env) if isinstance(v, str) else v for k, v in e["params"].items()}
        out.append(e)
    return out


def _fill(text: str, env: dict):
    whole = re.fullmatch(r"\{(\w+)\}", text)
    if whole and whole.group(1) in env:
        return env[whole.group(1)]
    return re.sub(r"\{(\w+)\}", lambda m: str(env[m.group(1)]) if m.group(1) in env else m.group(0), text)


def _req_str(entry, key, path, required=True) -> str | None:
    val = entry.get(key)
    if val is None:
        if required:
            raise InputError("missing", file=path, line=_line(entry), field=key)
        return None
    if not isinstance(val, str) or not val.strip():
        raise InputError(f"expected a non-empty string, got {val!r}", file=path, line=_line(entry, key), field=key)
    return val.strip()


def build_task(entry: dict, path: Path) -> TaskDef:
    unknown = set(entry) - TASK_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise InputError(f"unknown key (allowed: {', '.join(sorted(TASK_KEYS))})", file=path, line=_line(entry, key),
                         field=key)
    name = _req_str(entry, "name", path)
    if not _NAME.match(name):
        raise InputError(f"bad task name {name!r} (letters, digits, '_', '-', '.')", file=path,
                         line=_line(entry, "name"), field="name")
    loader_name = _req_str(entry, "loader", path)
    try:
        cls: type[Loader] = loader_class(loader_name)
    except LmkbenchError:
        raise InputError(f"unknown loader {loader_name!r} (known: {', '.join(e.name for e in LOADERS)})",
                         file=path, line=_line(entry, "loader"), field="loader") from None
    params = entry.get("params") or {}
    if not isinstance(params, dict):
        raise InputError("expected a mapping", file=path, line=_line(entry, "params"), field="params")
    params = dict(params)
    for key in cls.path_params:
        if params.get(key) is not None:
            params[key] = expand_path(params[key], path, _line(entry, "params"), f"params.{key}")
    where = f"{path}:{_line(entry)} (task {name})"
    loader = cls(**cls.validate(params, where))
    kind = _req_str(entry, "kind", path, required=False) or loader.kind()
    if kind not in KINDS or kind not in cls.kinds:
        raise InputError(f"kind {kind!r} is not one the {cls.name} loader feeds ({', '.join(cls.kinds)})",
                         file=path, line=_line(entry, "kind"), field="kind")
    group = _req_str(entry, "group", path)
    if group not in GROUPS:
        raise InputError(f"group must be one of {', '.join(GROUPS)}, got {group!r}", file=path,
                         line=_line(entry, "group"), field="group")
    sha = entry.get("sha256") or {}
    if not isinstance(sha, dict) or not all(isinstance(v, str) and _SHA.match(v.lower()) for v in sha.values()):
        raise InputError("expected a mapping of source file → 64 hex digits", file=path, line=_line(entry, "sha256"),
                         field="sha256")
    for key in ("evaluator", "subset", "size"):
        if entry.get(key) is not None and not isinstance(entry[key], dict):
            raise InputError("expected a mapping", file=path, line=_line(entry, key), field=key)
    mteb = _mteb_target(entry, cls, loader, path)
    return TaskDef(name=name, kind=kind, loader=loader.load, params=loader.p,
                   evaluator_options=dict(entry.get("evaluator") or {}),
                   source=_req_str(entry, "source", path, required=False) or loader.describe(),
                   license=_req_str(entry, "license", path, required=False) or "",
                   group=group, needs_tokenizer=cls.needs_tokenizer, loader_name=cls.name, file=str(path),
                   sha256={str(k): str(v).lower() for k, v in sha.items()}, subset=entry.get("subset"),
                   main_metric=_req_str(entry, "main_metric", path, required=False),
                   description=_req_str(entry, "description", path, required=False) or "",
                   size=dict(entry.get("size") or {}), source_loader=loader, mteb=mteb)


def _mteb_target(entry: dict, cls, loader, path: Path) -> dict | None:
    """``mteb: {task, split, hf_subset}``: the mteb task that evaluates the same data (``lmkbench export``).

    Tasks of the ``mteb`` loader are that task unless a ``subset`` narrows the data; others declare it."""
    doc = entry.get("mteb")
    if doc is None:
        if cls.name != "mteb" or entry.get("subset") or not loader.p.get("task"):
            return None
        return {"task": loader.p["task"], "split": loader.p.get("split"), "hf_subset": loader.p.get("hf_subset")}
    if not isinstance(doc, dict) or not isinstance(doc.get("task"), str) or set(doc) - MTEB_KEYS:
        raise InputError(f"expected a mapping with 'task' (and optional {', '.join(sorted(MTEB_KEYS - {'task'}))})",
                         file=path, line=_line(entry, "mteb"), field="mteb")
    if entry.get("subset"):
        raise InputError("a task with a subset is not the mteb task; drop 'mteb' or 'subset'", file=path,
                         line=_line(entry, "mteb"), field="mteb")
    return {"task": doc["task"], "split": doc.get("split"), "hf_subset": doc.get("hf_subset")}


def _suite(doc, path: Path, line) -> Suite:
    if not isinstance(doc, dict):
        raise InputError("expected a mapping with name, description, tasks", file=path, line=line, field="suite")
    unknown = set(doc) - SUITE_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise InputError(f"unknown key (allowed: {', '.join(sorted(SUITE_KEYS))})", file=path,
                         line=_line(doc, key), field=key)
    name = _req_str(doc, "name", path)
    items = doc.get("tasks")
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        raise InputError("expected a non-empty list of task names / patterns", file=path, line=_line(doc, "tasks"),
                         field="tasks")
    return Suite(name=name, tasks=items, description=_req_str(doc, "description", path, required=False) or "",
                 file=str(path), line=_line(doc, "tasks"))
