"""Specs: small immutable values with a canonical string form, resolved through a registry.

Modelled on ir_measures: ``"lmk:g=64"`` parses to ``Spec("lmk", (("g", 64),))`` whose ``str()`` is the
canonical form used as cache key, results file name and report column. Each registered name declares the
parameters it accepts once (a :class:`~lmkbench.params.Schema` of :class:`~lmkbench.params.Param`), so a
spec is validated and normalised (defaults filled in, so ``lmk`` and ``lmk:g=32`` are the same spec).
"""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import Any, Generic, Iterator, TypeVar

from .errors import LmkbenchError
from .params import Param, Schema, int_list, unknown_name

__all__ = ["Spec", "slug", "Param", "Registry", "Entry", "int_list"]

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


@dataclass
class Entry(Generic[T]):
    name: str
    obj: T
    schema: Schema = field(default_factory=Schema)
    help: str = ""

    @property
    def params(self) -> Schema:
        """The declared parameters (a mapping ``name → Param``)."""
        return self.schema


#: every registry, in the order created: :func:`extension_digests` walks them
REGISTRIES: list["Registry"] = []
_PACKAGE = __name__.split(".")[0]


def _is_own(obj: Any) -> bool:
    return str(getattr(obj, "__module__", "") or "").split(".")[0] == _PACKAGE


def source_digest(obj: Any) -> str:
    """A registered object's code: a digest of its module's source file, else its distribution's version, else
    its qualified name alone (a class defined interactively)."""
    import hashlib
    import inspect
    import sys

    where = f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', type(obj).__qualname__)}"
    try:
        src = inspect.getsourcefile(obj if inspect.isclass(obj) or inspect.isfunction(obj) else type(obj))
        with open(src, "rb") as fh:
            return f"{where}:{hashlib.blake2b(fh.read(), digest_size=12).hexdigest()}"
    except (TypeError, OSError):
        module = sys.modules.get(str(getattr(obj, "__module__", "")).split(".")[0])
        return f"{where}:v{getattr(module, '__version__', '?')}"


def extension_digests() -> list[str]:
    """``kind name = module.qualname:digest`` of every object registered from outside lmkbench (a pooling,
    strategy, positions method, loader, metric, test, exporter...): in the code digest of every stored vector
    and every result, so an extension author's edit invalidates what it computed."""
    return sorted(f"{r.kind} {name} = {source_digest(obj)}" for r in REGISTRIES for name, obj in r.extensions())


class Registry(Generic[T]):
    """Name → registered object, with its parameter :class:`~lmkbench.params.Schema`, parsing and listing.

    ``noun`` names the parameters in messages ("parameter", "option"); ``modules`` are the modules that
    register into this registry, imported on the first lookup (so that a registry listed from anywhere is
    complete, while registering modules import only the registry)."""

    def __init__(self, kind: str, *, noun: str = "parameter", modules: tuple[str, ...] = ()):
        self.kind, self.noun, self.modules = kind, noun, tuple(modules)
        self._entries: dict[str, Entry[T]] = {}
        self._complete = not self.modules
        REGISTRIES.append(self)

    def extensions(self) -> list[tuple[str, Any]]:
        """``(name, object)`` of the entries registered from outside lmkbench (extensions, plugins)."""
        return [(e.name, e.obj) for e in self._entries.values() if not _is_own(e.obj)]

    def register(self, name: str, *, params: dict[str, Param] | None = None, help: str = ""):
        if not _NAME.match(name):
            raise ValueError(f"bad {self.kind} name {name!r}")

        def deco(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            schema = Schema(params, owner=f"{self.kind} {name!r}", noun=self.noun)
            self._entries[name] = Entry(name, obj, schema, help or (obj.__doc__ or "").strip().split("\n")[0])
            return obj

        return deco

    def _load(self) -> None:
        if not self._complete:
            self._complete = True
            for module in self.modules:
                importlib.import_module(module)

    def __contains__(self, name: str) -> bool:
        return self._find(name) is not None

    def __iter__(self) -> Iterator[Entry[T]]:
        self._load()
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def names(self) -> list[str]:
        return [e.name for e in self]

    def _find(self, name: str) -> Entry[T] | None:
        if name not in self._entries:
            self._load()
        return self._entries.get(name)

    def __getitem__(self, name: str) -> T:
        """The registered object (``KeyError`` when unknown, as a mapping)."""
        found = self._find(name)
        if found is None:
            raise KeyError(name)
        return found.obj

    def entry(self, name: str) -> Entry[T]:
        found = self._find(name)
        if found is None:
            raise LmkbenchError(unknown_name(self.kind, name, sorted(self._entries)))
        return found

    def schema(self, name: str) -> Schema:
        return self.entry(name).schema

    def parse(self, text: str | Spec) -> Spec:
        """Parse ``name[:k=v,k=v]`` into a normalised :class:`Spec` (defaults filled in)."""
        if isinstance(text, Spec):
            text = str(text)
        text = text.strip()
        name, _, rest = text.partition(":")
        entry = self.entry(name.strip())
        given: dict[str, str] = {}
        for item in filter(None, (p.strip() for p in rest.split(","))) if rest else ():
            key, eq, value = item.partition("=")
            if not eq:
                raise LmkbenchError(f"{self.kind} spec {text!r}: expected key=value, got {item!r}")
            key = key.strip()
            if key in given:   # one of the two would silently win
                raise LmkbenchError(f"{self.kind} spec {text!r}: {self.noun} {key!r} given twice")
            given[key] = value.strip()
        values = entry.schema.check(given)
        return Spec(entry.name, tuple((k, v) for k, v in values.items() if v is not None))

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
            elif head in self or not current:
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
