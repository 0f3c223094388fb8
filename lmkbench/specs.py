"""Specs: small immutable values with a canonical string form, resolved through a registry.

Modelled on ir_measures: ``"lmk:g=64"`` parses to ``Spec("lmk", (("g", 64),))`` whose ``str()`` is the
canonical form used as cache key, results file name and report column. Each registry declares, per
name, the parameters it accepts with their types and defaults, so a spec is validated and normalised
(defaults filled in, so ``lmk`` and ``lmk:g=32`` are the same spec).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterator, TypeVar

from .errors import LmkbenchError

T = TypeVar("T")

_NAME = re.compile(r"^[a-z][a-z0-9_\-]*$")


@dataclass(frozen=True, order=True)
class Spec:
    name: str
    params: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:
        if not self.params:
            return self.name
        return self.name + ":" + ",".join(f"{k}={_fmt(v)}" for k, v in self.params)

    def get(self, key: str, default=None):
        return dict(self.params).get(key, default)

    @property
    def slug(self) -> str:
        """File-name safe form of the canonical string."""
        return slug(str(self))


def slug(text, empty: str = "_") -> str:
    """The one file-name-safe form of a name (task, model, pooling spec): runs of other characters become ``_``."""
    return re.sub(r"[^A-Za-z0-9=._-]+", "_", str(text)).strip("_") or empty


def _fmt(v: Any) -> str:
    if isinstance(v, (tuple, list)):
        return "+".join(_fmt(x) for x in v)
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


@dataclass(frozen=True)
class Param:
    """A declared parameter: its type converter, default and one-line help."""

    convert: Callable[[str], Any]
    default: Any = None
    help: str = ""
    choices: tuple | None = None


def int_list(text: str) -> tuple[int, ...]:
    """``"32+64+128"`` (or ``32/64``) → ``(32, 64, 128)``."""
    parts = [p for p in re.split(r"[+/ ]", text) if p]
    if not parts:
        raise ValueError("empty list")
    return tuple(int(p) for p in parts)


def bool_param(text: str) -> bool:
    t = text.lower()
    if t in ("1", "true", "yes", "on"):
        return True
    if t in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


@dataclass
class Entry(Generic[T]):
    name: str
    obj: T
    params: dict[str, Param] = field(default_factory=dict)
    help: str = ""


class Registry(Generic[T]):
    """Name → registered object, with parameter schema, parsing and listing."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def register(self, name: str, *, params: dict[str, Param] | None = None, help: str = ""):
        if not _NAME.match(name):
            raise ValueError(f"bad {self.kind} name {name!r}")

        def deco(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self._entries[name] = Entry(name, obj, dict(params or {}), help or (obj.__doc__ or "").strip().split("\n")[0])
            return obj

        return deco

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def entry(self, name: str) -> Entry[T]:
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries))
            raise LmkbenchError(f"unknown {self.kind} {name!r} (known: {known})") from None

    def parse(self, text: str | Spec) -> Spec:
        """Parse ``name[:k=v,k=v]`` into a normalised :class:`Spec` (defaults filled in)."""
        if isinstance(text, Spec):
            text = str(text)
        text = text.strip()
        name, _, rest = text.partition(":")
        entry = self.entry(name.strip())
        given: dict[str, Any] = {}
        for item in filter(None, (p.strip() for p in rest.split(","))) if rest else ():
            key, eq, value = item.partition("=")
            key = key.strip()
            if not eq:
                raise LmkbenchError(f"{self.kind} spec {text!r}: expected key=value, got {item!r}")
            if key not in entry.params:
                allowed = ", ".join(entry.params) or "none"
                raise LmkbenchError(f"{self.kind} {name!r} has no parameter {key!r} (parameters: {allowed})")
            p = entry.params[key]
            try:
                val = p.convert(value.strip())
            except (TypeError, ValueError) as exc:
                raise LmkbenchError(f"{self.kind} spec {text!r}: bad value for {key!r}: {exc}") from None
            if p.choices is not None and val not in p.choices:
                raise LmkbenchError(f"{self.kind} spec {text!r}: {key} must be one of {p.choices}")
            given[key] = val
        full = []
        for key, p in entry.params.items():
            val = given.get(key, p.default)
            if val is not None:
                full.append((key, val))
        return Spec(entry.name, tuple(full))

    def parse_list(self, text: str) -> list[Spec]:
        """Comma-separated list where a parameter list may follow a colon: ``cls,mean,lmk:g=64,lmk``.

        Items are split on commas that start a new registered name.
        """
        specs: list[Spec] = []
        current: list[str] = []
        for piece in (p.strip() for p in text.split(",")):
            if not piece:
                continue
            head = piece.split(":")[0]
            if "=" in piece and ":" not in piece and current:
                current.append(piece)  # continuation: another k=v of the previous spec
            elif head in self._entries or not current:
                if current:
                    specs.append(self.parse(",".join(current)))
                current = [piece]
            else:
                current.append(piece)
        if current:
            specs.append(self.parse(",".join(current)))
        out: list[Spec] = []
        for s in specs:
            if s not in out:
                out.append(s)
        return out

    def create(self, spec: str | Spec, **kwargs):
        spec = self.parse(spec)
        return self.entry(spec.name).obj(spec, **kwargs)
