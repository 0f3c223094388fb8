"""One parameter schema for everything registered: poolings, strategies, lexical systems, task loaders,
evaluators and metrics.

The idea is ir_measures' ``ParamInfo``: a registered thing declares its parameters once, as a mapping
``name → Param`` (converter, default or :data:`REQUIRED`, choices, bounds, help), and :class:`Schema.check`
is the one place that validates a given mapping of options against it: unknown names (with "did you
mean"), missing required ones, conversion, choices and bounds. Values may be YAML-typed (a task file, an
evaluator block) or the strings of a spec (``lmk:g=64``, ``passkey:1024?n_queries=5``); the converters
accept both.
"""
from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NamedTuple

from .errors import InputError, LmkbenchError


class _Required:
    def __repr__(self) -> str:
        return "(required)"

    __str__ = __repr__


REQUIRED: Any = _Required()   # a Param default meaning "must be given"


# -- converters: accept YAML-typed values as well as the strings of a spec --------------------------------------
def to_int(v) -> int:
    if isinstance(v, bool) or (isinstance(v, float) and not v.is_integer()):
        raise ValueError(f"expected an integer, got {v!r}")
    return int(v.strip()) if isinstance(v, str) else int(v)


def to_float(v) -> float:
    if isinstance(v, bool):
        raise ValueError(f"expected a number, got {v!r}")
    return float(v)


def to_finite_float(v) -> float:
    """:func:`to_float` without nan and ±inf (which would pass or slip past any bound as a parameter)."""
    out = to_float(v)
    if not math.isfinite(out):
        raise ValueError(f"expected a finite number, got {v!r}")
    return out


def to_str(v) -> str:
    if isinstance(v, (dict, list, tuple)):
        raise ValueError(f"expected a string, got {type(v).__name__}")
    return str(v)


def to_bool(v) -> bool:
    if isinstance(v, bool):
        return v
    t = str(v).strip().lower()
    if t in ("1", "true", "yes", "on"):
        return True
    if t in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {v!r}")


def to_str_list(v) -> list[str]:
    if isinstance(v, str):
        return [s for s in (x.strip() for x in v.replace("+", ",").split(",")) if s]
    if isinstance(v, (list, tuple)):
        return [to_str(x) for x in v]
    raise ValueError(f"expected a list of strings, got {type(v).__name__}")


def int_list(text: str) -> tuple[int, ...]:
    """``"32+64+128"`` (or ``32/64``) → ``(32, 64, 128)``."""
    parts = [p for p in re.split(r"[+/ ]", text) if p]
    if not parts:
        raise ValueError("empty list")
    return tuple(int(p) for p in parts)


# -- "did you mean" ---------------------------------------------------------------------------------------------
def did_you_mean(name: str, known: Iterable[str], n: int = 1) -> str:
    """`` (did you mean 'x'?)`` for the closest known name (up to ``n`` of them), or nothing: the one wording
    of every "did you mean" in lmkbench (specs, options, config keys, settings, task names)."""
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=n)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def unknown_name(kind: str, name: str, known: Iterable[str], *, shown: str | None = None, suffix: str = "") -> str:
    """``unknown pooling 'lmkk' (did you mean lmk?) (known: cls, lmk, …)``; ``shown`` is the text as given."""
    known = list(known)
    listed = ", ".join(k + suffix for k in known) or "none"
    return f"unknown {kind} {name if shown is None else shown!r}{did_you_mean(name, known)} (known: {listed})"


# -- the declaration ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    """A declared parameter: converter, default (or :data:`REQUIRED`), one-line help, allowed values and bounds.

    ``nullable``: an explicit ``None`` is a value of its own (e.g. "no limit"); otherwise ``None`` means
    "not given" and the default applies."""

    convert: Callable[[Any], Any] = to_str
    default: Any = None
    help: str = ""
    choices: tuple | None = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    nullable: bool = False

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def check(self, value):
        """The converted value, or ``ValueError`` saying what is wrong with it."""
        if value is None:
            return None
        v = self.convert(value)
        if self.choices is not None and v not in self.choices:
            raise ValueError(f"must be one of {', '.join(map(str, self.choices))}, got {v!r}")
        if self.ge is not None and not v >= self.ge:
            raise ValueError(f"must be >= {self.ge}, got {v!r}")
        if self.gt is not None and not v > self.gt:
            raise ValueError(f"must be > {self.gt}, got {v!r}")
        if self.le is not None and not v <= self.le:
            raise ValueError(f"must be <= {self.le}, got {v!r}")
        if self.lt is not None and not v < self.lt:
            raise ValueError(f"must be < {self.lt}, got {v!r}")
        return v


class Location(NamedTuple):
    """Where options come from (a task file's entry): errors become :class:`InputError` with
    ``field = FIELD.KEY``. ``file`` may also be a free "where" text (``--task SPEC``)."""

    file: str | Path
    line: int | None = None
    field: str = ""


class Schema(Mapping):
    """The declared parameters of one registered thing (``owner``, e.g. ``pooling 'lmk'``), in declaration
    order, and the one check of given options against them."""

    def __init__(self, params: Mapping[str, Param] | None = None, *, owner: str = "", noun: str = "parameter"):
        self.params = dict(params or {})
        bad = [k for k, p in self.params.items() if not isinstance(p, Param)]
        if bad:
            raise TypeError(f"{owner}: {', '.join(bad)} not declared as Param")
        self.owner, self.noun = owner, noun

    def __getitem__(self, key: str) -> Param:
        return self.params[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)

    def __repr__(self) -> str:
        return f"Schema({self.owner}: {', '.join(self.params) or 'no ' + self.noun + 's'})"

    def check(self, given: Mapping[str, Any], where: Location | None = None) -> dict[str, Any]:
        """Every declared parameter → its value (given and converted, or the default), in declaration order."""
        unknown = sorted(k for k in given if k not in self.params)
        if unknown:
            named = ", ".join(f"{k!r}{did_you_mean(k, self.params)}" for k in unknown)
            plural = "s" if len(unknown) > 1 else ""
            self._fail(f"{self.owner} has no {self.noun}{plural} {named} "
                       f"(known: {', '.join(self.params) or 'none'})", unknown[0], where)
        out: dict[str, Any] = {}
        for key, p in self.params.items():
            value = given.get(key)
            if value is None and not (p.nullable and key in given):
                if p.required:
                    self._fail(f"{self.owner} needs {self.noun} {key!r}" + (f" ({p.help})" if p.help else ""),
                               key, where)
                out[key] = p.default
                continue
            try:
                out[key] = p.check(value)
            except (TypeError, ValueError) as exc:
                self._fail(f"{self.owner}: bad value for {key!r}: {exc}", key, where)
        return out

    def _fail(self, message: str, key: str, where: Location | None):
        if where is None:
            raise LmkbenchError(message)
        field = f"{where.field}.{key}" if where.field else key
        raise InputError(message, file=where.file, line=where.line, field=field) from None
