"""The task catalogue: declarative YAML task files, read into :class:`TaskDef` values, and suites.

Where task files are found, first match of a name wins:

1. ``--tasks-dir DIR`` (``lmkbench tasks``) / the ``dirs`` argument;
2. ``$LMKBENCH_TASKS`` (folders separated by ``os.pathsep``);
3. the built-in catalogue: ``tasks/`` at the top of a clone (an editable install reads it there), shipped
   inside the wheel as ``lmkbench/catalogue/`` (setup.py copies it).

A task file (any ``*.yaml``/``*.yml`` below those folders) holds ``tasks:`` (a list of task entries),
optional ``defaults:`` merged into each entry, and/or ``suite:`` (one suite). Paths in ``params`` are
relative to the task file's folder and may use ``${LMKBENCH_SHARED_DATA}`` (default: ``../shared/data``
next to a clone, where CI puts the real datasets; ``$LMKBENCH_DATA/shared`` for an installed wheel), ``${LMKBENCH_DATA}`` (download cache, default
``~/.cache/lmkbench/data``) or any other environment variable. See the README, "Tasks and suites".

What a task file may say is declared by the pydantic models of :mod:`lmkbench.tasks.taskfile`; a problem is
one :class:`~lmkbench.errors.InputError` naming the file, line and field (:mod:`lmkbench.configs`).
"""
from __future__ import annotations

import fnmatch
import itertools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..configs import LineDict, line_of, read_yaml, validate
from ..errors import InputError, LmkbenchError
from ..params import Location
from .registry import LOADERS, Loader, loader_class
from .paths import ENV_SHARED, builtin_tasks_dir, shared_data_root
from .taskdef import KINDS, TaskDef
from .taskfile import ForEach, SuiteEntry, TaskEntry, TaskFile
from ..params import did_you_mean

ENV_TASKS = "LMKBENCH_TASKS"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


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


# -- suites and the catalogue ---------------------------------------------------------------------------------
@dataclass
class Suite:
    name: str
    tasks: list[str]
    description: str = ""
    file: str | None = None
    line: int | None = None
    #: extra encoder settings the suite is also run with (taskfile.SuiteVariant), when the user chose none
    variants: list = field(default_factory=list)
    variants_line: int | None = None


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
    return f"unknown {what} {name!r}{did_you_mean(name, known, n=3)} (see 'lmkbench tasks')"


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
    validate(TaskFile, doc, file=path)
    defaults = doc.get("defaults") or {}
    tasks = [build_task(expanded, path) for entry in doc.get("tasks") or []
             for expanded in _expand(_merge(defaults, entry), path)]
    suites = [_suite(doc["suite"], path)] if doc.get("suite") is not None else []
    return tasks, suites


def _with_lines(values: dict, like) -> LineDict:
    """``values`` as a mapping that keeps the lines of ``like`` (and of its keys)."""
    out = LineDict(values)
    out.line, out.lines = line_of(like) or 0, dict(getattr(like, "lines", {}))
    return out


def _merge(defaults: dict, entry: dict) -> dict:
    out = _with_lines({**defaults, **entry}, entry)
    out.lines = {**getattr(defaults, "lines", {}), **out.lines}
    for key in ("params", "evaluator", "size"):
        if isinstance(defaults.get(key), dict) and isinstance(entry.get(key), dict):
            out[key] = {**defaults[key], **entry[key]}
    return out


def _expand(entry: dict, path: Path) -> list[dict]:
    """``for_each: {length: [256, 512]}`` → one entry per value; ``{length}`` is substituted in the name,
    the description and string parameters (a parameter that is exactly ``"{length}"`` takes the value itself)."""
    grid = entry.get("for_each")
    rest = _with_lines({k: v for k, v in entry.items() if k != "for_each"}, entry)
    if grid is None:
        return [rest]
    validate(ForEach, {"for_each": grid}, file=path, line=line_of(entry, "for_each"))
    out = []
    for values in itertools.product(*grid.values()):
        env = dict(zip(grid, values))
        e = _with_lines(rest, rest)
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


def build_task(entry: dict, path: Path) -> TaskDef:
    """One task entry (defaults merged, ``for_each`` expanded) → a :class:`TaskDef` (validated: :class:`TaskEntry`,
    then the loader's parameters and kinds)."""
    t = validate(TaskEntry, entry, file=path)
    try:
        cls: type[Loader] = loader_class(t.loader)
    except LmkbenchError:
        raise InputError(f"unknown loader {t.loader!r} (known: {', '.join(e.name for e in LOADERS)})",
                         file=path, line=line_of(entry, "loader"), field="loader") from None
    params = dict(t.params or {})
    for key in cls.path_params:
        if params.get(key) is not None:
            params[key] = expand_path(params[key], path, line_of(entry, "params"), f"params.{key}")
    loader = cls(**cls.validate(params, Location(path, line_of(entry, "params") or line_of(entry), "params")))
    kind = t.kind or loader.kind()
    if kind not in KINDS or kind not in cls.kinds:
        raise InputError(f"kind {kind!r} is not one the {cls.name} loader feeds ({', '.join(cls.kinds)})",
                         file=path, line=line_of(entry, "kind"), field="kind")
    return TaskDef(name=t.name, kind=kind, params=loader.p,
                   evaluator_options=dict(t.evaluator or {}), source=t.source or loader.describe(),
                   license=t.license or "", group=t.group, needs_tokenizer=cls.needs_tokenizer, loader_name=cls.name,
                   file=str(path), sha256=t.sha256 or {}, subset=t.subset, main_metric=t.main_metric,
                   description=t.description or "", size=dict(t.size or {}), source_loader=loader,
                   mteb=_mteb_target(t, cls, loader, path, line_of(entry, "mteb")))


def _mteb_target(t: TaskEntry, cls, loader, path: Path, line: int | None) -> dict | None:
    """The mteb task that evaluates the same data (``lmkbench export``): ``mteb:`` as declared, or, for a task
    of the ``mteb`` loader, that task unless a ``subset`` narrows the data."""
    if t.mteb is None:
        if cls.name != "mteb" or t.subset or not loader.p.get("task"):
            return None
        return {"task": loader.p["task"], "split": loader.p.get("split"), "hf_subset": loader.p.get("hf_subset")}
    if t.subset:
        raise InputError("a task with a subset is not the mteb task; drop 'mteb' or 'subset'", file=path, line=line,
                         field="mteb")
    return t.mteb.model_dump()


def _suite(doc: dict, path: Path) -> Suite:
    s = validate(SuiteEntry, doc, file=path)
    for i, v in enumerate(s.variants):
        _check_variant_settings(v, path, line_of(doc, "variants"), i)
    return Suite(name=s.name, tasks=list(s.tasks), description=s.description or "", file=str(path),
                 line=line_of(doc, "tasks"), variants=list(s.variants), variants_line=line_of(doc, "variants"))


def _check_variant_settings(variant, path: Path, line: int | None, index: int) -> None:
    """A variant's settings are EncoderSettings fields (checked when the file is read, not when it runs)."""
    from ..settings import EncoderSettings

    from ..positions import parse_positions

    try:
        settings = EncoderSettings.of(**variant.settings)
        parse_positions(settings.positions)   # a bad spec (ntk:abc) is the file's error, not a skipped variant
    except LmkbenchError as exc:
        raise InputError(str(exc), file=path, line=line, field=f"suite.variants[{index}].settings") from None
