"""Tables of everything registered: poolings, positions methods, lexical systems, task loaders, metrics,
export formats, evaluators, statistical tests and corrections, and the task catalogue with its suites."""
from __future__ import annotations

import argparse
import functools
import inspect

from .md import cell, code, first_line, table


def _params(entry) -> str:
    out = []
    for key, prm in entry.params.items():
        default = "required" if prm.required else prm.default
        choices = " (" + "|".join(map(str, prm.choices)) + ")" if prm.choices else ""
        out.append(f"`{key}={default}`{choices}: {prm.help}" if prm.help else f"`{key}={default}`{choices}")
    return "<br>".join(out) or "-"


def _entries(registry) -> list:
    """Registry entries, or plain names wrapped as entries where a registry is still a tuple of names."""
    items = list(registry)
    if items and isinstance(items[0], str):
        return [argparse.Namespace(name=n, obj=None, help="", params={}) for n in items]
    return items


def poolings() -> str:
    """The table ``lmkbench poolings --markdown`` prints (the same rows, from the same function)."""
    from lmkbench.commands.poolings import catalogue_rows

    rows = [[code(r[0]), code(r[1]), code(r[2]), cell(r[3]), cell(r[4])] for r in catalogue_rows()]
    return table(["pooling", "canonical default", "input family", "parameters", "what it does"], rows)


def pooling_details() -> str:
    from lmkbench.poolings import POOLINGS

    parts = []
    for e in POOLINGS:
        own = e.obj.__dict__.get("__doc__")   # the class's own docstring, not its base class's
        doc = inspect.cleandoc(own) if own else ""
        parts.append(f"### `{e.name}`\n\n{e.help}\n\n" + (f"{doc}\n\n" if doc and doc != e.help else "")
                     + f"Parameters: {_params(e)}\n")
    return "\n".join(parts)


def positions() -> str:
    from lmkbench.positions import POSITIONS

    rows = [[code(e.name), e.obj.fits if getattr(e.obj, "fits", None) else "any", _params(e),
             first_line(inspect.getdoc(e.obj)) or e.help] for e in POSITIONS]
    return table(["method", "architecture", "parameters", "what it does"], rows)


def lexical() -> str:
    from lmkbench.bm25 import SYSTEMS

    return table(["system", "parameters", "what it is"],
                 [[code(e.name), _params(e), e.help] for e in SYSTEMS])


def loaders() -> str:
    from lmkbench.tasks.registry import LOADERS

    rows = [[code(e.name), code(e.obj.spec_help) if e.obj.spec_help else "(task files only)",
             ", ".join(e.obj.kinds), _params(e), e.help] for e in LOADERS]
    return table(["loader", "ad-hoc spec", "kinds", "parameters", "what it reads"], rows)


def metrics() -> str:
    from lmkbench.metrics import METRICS

    return table(["metric", "parameters", "what it measures"], [[code(e.name), _params(e), e.help] for e in METRICS])


def exporters() -> str:
    from lmkbench.export import EXPORTERS

    return table(["format", "needs", "what it writes"],
                 [[code(e.name), code(getattr(e.obj, "needs", "")), e.help] for e in EXPORTERS])


def evaluators() -> str:
    from lmkbench.evaluate.base import EVALUATORS

    return table(["task kind", "options", "evaluator"],
                 [[code(e.name), _params(e), e.help or first_line(inspect.getdoc(e.obj))] for e in EVALUATORS])


def stat_tests() -> str:
    """The paired tests of ``lmkbench.stats.registry.STAT_TESTS`` (the tuple of names before it existed)."""
    try:
        from lmkbench.stats.registry import STAT_TESTS
    except ImportError:
        from lmkbench.stats import TESTS as STAT_TESTS
    rows = []
    for e in _entries(STAT_TESTS):
        t = e.obj
        use = "0/1 outcomes (automatic)" if getattr(t, "binary", False) else "`--test`" + (
            "" if getattr(t, "gate", True) else " (not the gate)")
        rows.append([code(e.name), use, code(getattr(t, "ci", None)), e.help, getattr(t, "text", "")])
    return table(["test", "offered as", "CI (auto)", "in short", "what it tests"], rows)


def corrections() -> str:
    try:
        from lmkbench.stats.registry import CORRECTIONS
    except ImportError:
        from lmkbench.stats import CORRECTIONS
    rows = [[code(e.name), ", ".join(code(a) for a in getattr(e.obj, "aliases", ())) or "-", e.help,
             getattr(e.obj, "text", "")] for e in _entries(CORRECTIONS)]
    return table(["correction", "aliases", "in short", "what it does"], rows)


@functools.lru_cache(maxsize=1)
def task_rows() -> tuple[list[dict], dict]:
    """What ``lmkbench tasks --json`` prints: sizes and word-length profiles measured where the data is."""
    from lmkbench.commands.tasks import rows

    return rows(argparse.Namespace(tasks_dir=[], suite=None, no_measure=False, verify=False))


def tasks() -> str:
    from lmkbench.tasks.profile import size_text

    recs, _ = task_rows()
    out = []
    for r in recs:
        p = r["profile"]
        out.append([code(r["name"]), r["kind"], r["group"], size_text(p, r["kind"]), p.get("length", "-"),
                    r["available"], r["license"], r["source"]])
    return table(["task", "kind", "group", "size", "length (median/p90)", "offline", "licence", "source"], out)


def suites() -> str:
    _, suites_ = task_rows()
    return table(["suite", "tasks", "what"],
                 [[code(n), len(s["tasks"]), s["description"]] for n, s in suites_.items()])
