"""Field tables of the record models: result files, their ``meta``, gate baselines, encoder settings.

A field's description is its comment in the source (``name: type = default   # what it is``), so the page
says what the code says."""
from __future__ import annotations

import dataclasses
import inspect
import re
import typing

from .md import cell, code, table

_FIELD = re.compile(r"^\s+(\w+)\s*:[^#\n]*?(?:#\s*(.*))?$")


def _comments(cls) -> dict[str, str]:
    """``field → trailing comment`` from the class body (``#:`` comments on the line above count too)."""
    out: dict[str, str] = {}
    above = ""
    for line in inspect.getsource(cls).splitlines():
        stripped = line.strip()
        if stripped.startswith("#:"):
            above = stripped[2:].strip()
            continue
        m = _FIELD.match(line)
        if m:
            out.setdefault(m.group(1), (m.group(2) or above).strip())
        above = ""
    return out


def _type(annotation) -> str:
    if isinstance(annotation, str):
        text = annotation
    elif typing.get_args(annotation):
        text = repr(annotation)
    else:
        text = getattr(annotation, "__name__", None) or repr(annotation)
    return text.replace("typing.", "").replace("NoneType", "None")


def _pydantic(cls) -> str:
    notes = {}
    for klass in reversed(cls.__mro__):
        if "model_fields" in getattr(klass, "__dict__", {}) or klass is cls:
            try:
                notes.update(_comments(klass))
            except (OSError, TypeError):
                pass
    rows = []
    for name, f in cls.model_fields.items():
        default = "required" if f.is_required() else repr(f.get_default(call_default_factory=True))
        rows.append([code(name), code(_type(f.annotation)), code(default), notes.get(name, "") or f.description])
    return table(["field", "type", "default", "what it is"], rows)


def _dataclass(cls) -> str:
    notes = _comments(cls)
    rows = []
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default = repr(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            default = repr(f.default_factory())
        else:
            default = "required"
        rows.append([code(f.name), code(_type(f.type)), code(default), cell(notes.get(f.name, ""))])
    return table(["field", "type", "default", "what it is"], rows)


def result_record() -> str:
    from lmkbench.results import ResultRecord

    return _dataclass(ResultRecord)


def result_meta() -> str:
    from lmkbench.results import ResultMeta

    return (_pydantic(ResultMeta) + "\nAny other key of `meta` is kept as written (`meta.get(\"prompts\")`).\n")


def baseline() -> str:
    from lmkbench.gate import Baseline, BaselineCell

    return "**`Baseline`** (the file)\n\n" + _pydantic(Baseline) + "\n**`BaselineCell`** (each of `cells`)\n\n" \
        + _pydantic(BaselineCell)


def stats_settings() -> str:
    from lmkbench.stats.settings import FLAGS, STATS_PARAMS

    rows = [[code(name), code(FLAGS.get(name)), code(repr(p.default)), p.help] for name, p in STATS_PARAMS.items()]
    return table(["setting", "CLI flag", "default", "what it sets"], rows)


def encoder_settings() -> str:
    from lmkbench.settings import EncoderSettings

    rows = []
    for f in dataclasses.fields(EncoderSettings):
        meta = f.metadata
        rows.append([code(f.name), code(meta.get("flag")), code(repr(f.default)), "yes" if meta.get("gated") else "",
                     meta.get("help", "")])
    return table(["setting", "CLI flag", "default", "gated", "what it sets"], rows)
