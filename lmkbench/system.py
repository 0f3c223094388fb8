"""What produced a number: one :class:`System` per result cell, one :class:`TaskRef` per task.

A result is filed, reused, paired and labelled by these records and nothing else (the store keys its vectors by
the same encoder settings, :data:`VECTOR_SETTINGS`). A ``System`` is frozen and holds:

* ``name`` — the checkpoint's display name (folder basename, alias or hub name; never the label separator
  ``~``), or a lexical system's label (``bm25``);
* ``variant`` — the encoder settings asked for that set it apart from the checkpoint as shipped
  (:func:`lmkbench.labels.variant_of`: ``pi-4096``, ``512``, ``bf16``), ``""`` as shipped;
* ``pooling`` — the canonical pooling / strategy spec (``lmk:g=32``), or the lexical system's name;
* ``identity`` — the checkpoint's content hash (every file loading may read, subfolders and remote code
  included: :func:`lmkbench.models.model_identity`) or ``name@revision`` on the hub; a lexical system's
  length tokenizer identity;
* ``settings`` — every resolved setting that changes a vector or a ranking (dense: :data:`VECTOR_SETTINGS`;
  lexical: the BM25 parameters and its length tokenizer);
* ``training`` — a trained checkpoint's provenance (its ``lmkbench.json``: base, data, steps, lr, seed,
  pooling); its bytes are in ``identity`` already, this is what a reader sees;
* ``seed`` — the training seed where known (``train-matched --seeds``);
* ``code`` — :func:`result_code_digest`: lmkbench's modules that compute the number, library versions, and
  the source of every extension registered from outside lmkbench (:func:`lmkbench.specs.extension_digests`:
  poolings, strategies, positions methods, loaders, metrics, tests...).

Three keys: :meth:`System.checkpoint_key` (what a results folder ``<task>/<label>/`` belongs to: everything but
the pooling and the code), :meth:`System.cell_key` (plus the pooling: what one cell file belongs to) and
:meth:`System.full_key` (plus the code: a finished cell is reused only when this equals today's). A record
written before systems existed (no ``meta.system``) is read by :meth:`System.from_record` from the fields it
does have; its code is unknown, so it is never reused, only replaced.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Mapping

from .labels import SEPARATOR, split_label, with_variant

#: the resolved encoder settings that change a vector (the store's slot key holds the same ones)
VECTOR_SETTINGS = ("dtype", "max_length", "long_policy", "positions")
#: a record written before the key existed means this by its absence
LEGACY_SETTINGS = {"positions": "native"}
#: modules of this package whose source decides a result beyond its vectors (the vector modules are
#: :data:`lmkbench.store.CODE_MODULES`): evaluation, metrics, search, the lexical system, data loading
RESULT_MODULES = ("evaluate", "metrics", "search", "stored", "bm25", "data", "tasks")


def _digest(obj: Any, n: int = 16) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:n]


def display_name(name: str) -> str:
    """A checkpoint's display name without the label separator (a folder named ``x~pi-256`` must not read as
    ``x``'s ``pi-256`` variant)."""
    return str(name).replace(SEPARATOR, "-")


@dataclass(frozen=True)
class System:
    """Everything that produces a result cell; see the module docstring."""

    name: str
    pooling: str
    variant: str = ""
    kind: str = "dense"                              # dense | lexical
    identity: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    training: Mapping[str, Any] | None = None
    seed: int | None = None
    code: str | None = None

    # -- keys ---------------------------------------------------------------------------------------
    def checkpoint_key(self) -> dict[str, Any]:
        """What a results folder ``<task>/<label>/`` belongs to: the system without its pooling and code."""
        return {"kind": self.kind, "variant": self.variant, "identity": self.identity,
                "settings": dict(self.settings)}

    def cell_key(self) -> dict[str, Any]:
        return {**self.checkpoint_key(), "pooling": self.pooling}

    def full_key(self) -> dict[str, Any]:
        return {**self.cell_key(), "code": self.code}

    def checkpoint_digest(self) -> str:
        return _digest(self.checkpoint_key())

    @property
    def label(self) -> str:
        """``name[~variant]``: the label a cell is filed under unless another system holds it."""
        return with_variant(self.name, self.variant)

    def with_pooling(self, pooling: str) -> "System":
        return replace(self, pooling=pooling)

    def fields(self) -> dict[str, Any]:
        """The fields a selector (``model=minilm,pooling=cls``) matches, as text."""
        out = {"model": self.name, "pooling": self.pooling, "variant": self.variant, "kind": self.kind,
               "seed": "" if self.seed is None else str(self.seed), "identity": self.identity or ""}
        out.update({k: "" if v is None else str(v) for k, v in self.settings.items() if k in VECTOR_SETTINGS})
        return out

    # -- (de)serialisation ----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["settings"] = dict(self.settings)
        d["training"] = dict(self.training) if self.training is not None else None
        return d

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "System":
        known = {k: data[k] for k in ("name", "pooling", "variant", "kind", "identity", "settings", "training",
                                      "seed", "code") if k in data}
        return cls(**known)

    @classmethod
    def from_record(cls, rec) -> "System":
        """The system of a result record: its ``meta.system`` where written, else derived from the fields an
        older record has (model identity, settings, label; its code unknown)."""
        stored = rec.meta.get("system")
        if isinstance(stored, Mapping) and stored.get("name"):
            return cls.from_json(stored).with_pooling(rec.pooling)
        name, variant = split_label(rec.model)
        meta = rec.meta
        if rec.pooling == "bm25" or meta.bm25 is not None:
            params = {k: v for k, v in (meta.bm25 or {}).items() if k != "version"}
            return cls(name=name, pooling=rec.pooling, variant=variant, kind="lexical",
                       identity=meta.get("length_tokenizer"), settings={"bm25": params},
                       seed=meta.matched_seed)
        settings = {k: meta.get(k, LEGACY_SETTINGS.get(k)) for k in VECTOR_SETTINGS}
        return cls(name=name, pooling=rec.pooling, variant=variant, identity=meta.model_identity,
                   settings=settings, seed=meta.matched_seed)


def differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """``key: old → new`` for each key whose values differ (nested mappings compared key by key)."""
    out = []
    for key in dict.fromkeys([*old, *new]):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            out += [f"{key}.{d}" for d in differences(a, b)]
        else:
            out.append(f"{key}: {_short(a)} → {_short(b)}")
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- the code that computes a number ---------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _result_modules_digest() -> str:
    from .store import source_digests

    return _digest(source_digests(RESULT_MODULES))


def result_code_digest() -> str:
    """A digest of the code that computes a result: the vector code (:func:`lmkbench.store.code_digest`:
    encoder, poolings, positions..., library versions, and every extension registered from outside lmkbench)
    and the result modules (:data:`RESULT_MODULES`)."""
    from .store import code_digest

    return _digest({"vectors": code_digest(), "results": _result_modules_digest()})


# -- tasks ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskRef:
    """A task's identity: its name and what it reads (:func:`lmkbench.tasks.data_identity`: loader, parameters
    with paths resolved, subset, evaluator options). Two tasks with one name but other data never share a
    results folder; the data's checksums decide whether a finished cell is stale."""

    name: str
    identity: str | None

    @classmethod
    def of(cls, task) -> "TaskRef":
        from .tasks import data_identity

        return cls(task.name, data_identity(task)[:16])

    @classmethod
    def from_record(cls, rec) -> "TaskRef":
        ident = rec.meta.get("task_identity")
        if isinstance(ident, str) and ident:
            return cls(rec.meta.get("task_name") or rec.task, ident)
        return cls(rec.task, None)
