"""Selectors over systems, and the arrangement of results into paired groups that ``compare()`` tests.

A selector is ``key=value[,key=value…]`` over a result's system fields (:func:`system_fields`): ``model`` (the
label's checkpoint part, ``minilm``, ``bert@9e01d2``), ``variant`` (``pi-4096``; ``as-trained`` for none),
``pooling``, ``seed``, ``kind`` (dense | lexical), ``dtype``, ``max_length``, ``positions``, ``long_policy``,
``label`` (``minilm~pi-4096``), ``task``. A value may list alternatives with ``|`` and use shell wildcards
(``model=minilm-*-s0``); pooling values are also matched canonically (``lmk`` = ``lmk:g=32``). A bare value
is a pooling (``mean`` = ``pooling=mean``): the default comparison, each pooling against mean inside one
checkpoint.

How records are grouped against a baseline selector ``B`` (its fields ``F``):

1. Where ``B`` names a system (a checkpoint and a pooling, a label, a kind or an identity) and matches exactly
   one in a task, every system of the task is paired with it (``--baseline 'model=a,pooling=cls'``: everything
   against that one; ``--baseline kind=lexical``: BM25 as the baseline of every dense system).
2. Otherwise the task's systems are grouped by the fields not in ``F`` among ``model``, ``variant``,
   ``pooling``, ``seed`` (the seed only where the baseline comes in several seeds), and each group's member
   matching ``B`` is its baseline (``--baseline mean``: per
   checkpoint and setting; ``--baseline model=minilm``: every other checkpoint against minilm at the same
   pooling and setting; ``--baseline variant=as-trained``: settings side by side). A group in which ``B``
   matches two systems is an error that names them.

A group's label (the ``model`` column of a comparison) names what its members share; each member's arm label
(the ``pooling`` column) names what sets it apart, so the default comparison reads exactly as before.
Cells filed under one label must be one system (:meth:`lmkbench.system.System.checkpoint_key`): two that
differ (a checkpoint retrained in place and rerun for one pooling, fp32 beside bf16) are refused, naming
what differs, unless ``allow_mixed`` (then a warning). ``train-matched``'s ``results_matched`` view (records
naming their arm in ``meta.matched_checkpoint``) holds one checkpoint per pooling by design: there the
checkpoints may differ, every other part of the system may not.
"""
from __future__ import annotations

import fnmatch
import logging
from dataclasses import dataclass, field
from typing import Iterable

from ..errors import InputError, LmkbenchError
from ..labels import AS_TRAINED, split_label
from ..params import did_you_mean
from ..results import ResultRecord
from ..system import System, differences

log = logging.getLogger(__name__)

#: the fields that tell the systems of one task apart (and group them)
GROUP_FIELDS = ("model", "variant", "pooling", "seed")
FIELDS = ("model", "variant", "pooling", "seed", "kind", "dtype", "max_length", "positions", "long_policy",
          "label", "task", "identity")


def system_fields(rec: ResultRecord) -> dict[str, str]:
    """A result's selectable fields, as text (see the module docstring)."""
    return {**System.from_record(rec).fields(), **label_fields(rec.task, rec.model, rec.pooling)}


def label_fields(task: str, label: str, pooling: str) -> dict[str, str]:
    """The fields a cell's task, label and pooling give (what a gate baseline's cell has)."""
    model, variant = split_label(label)
    return {"model": model, "variant": variant or AS_TRAINED, "pooling": canonical_pooling(pooling), "label": label,
            "task": task}


def canonical_pooling(text: str) -> str:
    """A pooling string without whitespace (result files already hold canonical strings)."""
    return "".join(str(text).split())


def registry_canonical(text: str) -> str | None:
    """``lmk`` → ``lmk:g=32`` (the pooling registry fills defaults; imported lazily, it pulls in torch); None if
    it cannot parse."""
    try:
        from ..poolings import parse_pooling

        return str(parse_pooling(text))
    except Exception:  # an unknown name, a lexical system: keep the text
        return None


@dataclass(frozen=True)
class Selector:
    """``key=value[,key=value…]``; see the module docstring."""

    terms: tuple[tuple[str, tuple[str, ...]], ...]
    text: str
    canonical: dict[str, str] = field(default_factory=dict, compare=False)   # pooling given → canonical spec

    @classmethod
    def parse(cls, text: str, *, flag: str = "--baseline") -> "Selector":
        text = str(text).strip()
        if not text:
            raise LmkbenchError(f"{flag}: an empty selector (give a pooling, or key=value[,key=value...])")
        terms = []
        for part in text.split(","):
            key, eq, value = part.partition("=")
            if not eq:                      # a bare value: a pooling (which may itself hold '=': lmk:g=32)
                key, value = "pooling", part
            key, value = key.strip(), value.strip()
            if ":" in key or key not in FIELDS:
                if not eq or ":" in key:      # lmk:g=32 was split at its '=': the whole text is one pooling
                    terms = [("pooling", (canonical_pooling(text),))]
                    break
                raise LmkbenchError(f"{flag} {text!r}: unknown field {key!r}{did_you_mean(key, FIELDS)} "
                                    f"(fields: {', '.join(FIELDS)})")
            alts = tuple(canonical_pooling(v) if key == "pooling" else v for v in value.split("|"))
            if not all(alts):
                raise LmkbenchError(f"{flag} {text!r}: an empty value for {key!r}")
            terms.append((key, alts))
        # a pooling given short (lmk) also matches its canonical spec (lmk:g=32): looked up once, here
        canon = {alt: c for key, alts in terms if key == "pooling" for alt in alts
                 for c in [registry_canonical(alt)] if c is not None and c != alt}
        return cls(tuple(terms), text, canon)

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(k for k, _ in self.terms)

    @property
    def names_a_system(self) -> bool:
        """Whether the selector picks systems rather than a pooling or setting of each: a checkpoint and a
        pooling, a label, a kind or an identity."""
        return bool(self.fields & {"label", "kind", "identity"}) or {"model", "pooling"} <= self.fields

    def matches(self, fields: dict[str, str]) -> bool:
        return all(any(_match(key, fields.get(key, ""), alt, self.canonical) for alt in alts)
                   for key, alts in self.terms)

    def check_matches(self, available: list[dict[str, str]], *, flag: str = "--baseline") -> None:
        """An error with a did-you-mean when the selector matches no system at all."""
        if any(self.matches(f) for f in available):
            return
        hints = []
        for key, alts in self.terms:
            values = sorted({f.get(key, "") for f in available} - {""})
            if not any(_match(key, v, a, self.canonical) for v in values for a in alts):
                hint = did_you_mean(alts[0], values)
                hints.append(f"{key}={'|'.join(alts)} matches none of: {', '.join(values[:12])}"
                             f"{', ...' if len(values) > 12 else ''}{hint}")
        raise InputError(f"{flag} {self.text!r} matches no result ({'; '.join(hints) or 'no system has all of it'})",
                         field=flag)


def _match(key: str, value: str, pattern: str, canonical: dict[str, str]) -> bool:
    return fnmatch.fnmatchcase(value, pattern) or (key == "pooling" and canonical.get(pattern) == value)


@dataclass
class Arrangement:
    """Records grouped for pairing: ``groups[(task, group label)] = {arm label: record}`` and each group's
    baseline arm (None where the baseline selector matched nothing in the group)."""

    groups: dict[tuple[str, str], dict[str, ResultRecord]]
    baselines: dict[tuple[str, str], str | None]


def arrange(records: Iterable[ResultRecord], baseline: str, *, systems: str | None = None,
            allow_mixed: bool = False) -> Arrangement:
    """Group ``records`` against the ``baseline`` selector (module docstring); ``systems`` keeps only the
    records it matches."""
    records = select_records(records, systems)
    base = Selector.parse(baseline)
    fields = [system_fields(r) for r in records]
    check_one_system_per_label(records, allow_mixed=allow_mixed)
    base.check_matches(list(fields))
    by_task: dict[str, list[tuple[ResultRecord, dict[str, str]]]] = {}
    for r, f in zip(records, fields):
        by_task.setdefault(r.task, []).append((r, f))
    groups: dict[tuple[str, str], dict[str, ResultRecord]] = {}
    baselines: dict[tuple[str, str], str | None] = {}
    for task, members in by_task.items():
        matched = {_system_of(f) for _, f in members if base.matches(f)}
        if len(matched) == 1 and base.names_a_system:
            parts = [members]
        else:
            # the seed groups only where the baseline itself comes in several seeds (a matched experiment);
            # else a trained checkpoint (seed 0) is paired with an untrained one (no seed)
            base_seeds = {f["seed"] for _, f in members if base.matches(f)}
            fields = [k for k in GROUP_FIELDS if k not in base.fields and (k != "seed" or len(base_seeds) > 1)]
            keyed: dict[tuple, list] = {}
            for r, f in members:
                keyed.setdefault(tuple(f[k] for k in fields), []).append((r, f))
            parts = list(keyed.values())
        labelled = [(part, *_labels([f for _, f in part])) for part in parts]
        counts: dict[str, int] = {}
        for _, label, _ in labelled:
            counts[label] = counts.get(label, 0) + 1
        for part, label, arms in labelled:
            seeds = {f["seed"] for _, f in part}
            if counts[label] > 1 and len(seeds) == 1 and "" not in seeds:   # one group per seed: say which
                label = f"{label} · seed {seeds.pop()}"
            group = groups.setdefault((task, label), {})
            bases = []
            for (r, f), arm in zip(part, arms):
                if arm in group:
                    raise InputError(f"second result for task {task!r}, {label!r}, {arm!r} (the first is "
                                     f"{group[arm].where})", file=r.where, field="pooling")
                group[arm] = r
                if base.matches(f):
                    bases.append(arm)
            if len(bases) > 1:
                raise InputError(f"--baseline {base.text!r} matches {len(bases)} systems of task {task!r} "
                                 f"({', '.join(bases)}): narrow it (e.g. add model=..., variant=... or pooling=...)",
                                 field="--baseline")
            baselines[(task, label)] = bases[0] if bases else None
    return Arrangement(groups, baselines)


def select_records(records: Iterable[ResultRecord], systems: str | None) -> list[ResultRecord]:
    """The records the ``systems`` selector matches (all of them for None); matching none is an error."""
    records = list(records)
    if not systems:
        return records
    keep = Selector.parse(systems, flag="--systems")
    fields = [system_fields(r) for r in records]
    keep.check_matches(fields, flag="--systems")
    return [r for r, f in zip(records, fields) if keep.matches(f)]


def _system_of(f: dict[str, str]) -> tuple:
    return tuple(f[k] for k in GROUP_FIELDS)


def _labels(fields: list[dict[str, str]]) -> tuple[str, list[str]]:
    """(the group's label: what its members share; each member's arm label: what sets it apart)."""
    arm = [k for k in ("model", "variant", "pooling") if len({f[k] for f in fields}) > 1] or ["pooling"]
    shared = [k for k in ("model", "variant", "pooling") if k not in arm]
    return _show(fields[0], shared) or "all systems", [_show(f, arm) for f in fields]


def _show(f: dict[str, str], keys: list[str]) -> str:
    parts = []
    if "model" in keys:
        parts.append(f["label"] if "variant" in keys else f["model"])
    elif "variant" in keys and (f["variant"] != AS_TRAINED or keys == ["variant"]):
        parts.append(f["variant"])
    if "pooling" in keys:
        parts.append(f["pooling"])
    return " · ".join(parts)


def _matched_view(rec: ResultRecord) -> bool:
    """A record of ``train-matched``'s ``results_matched`` view, which files each arm's checkpoint at its own
    pooling under one label per seed by design (``meta.matched_checkpoint`` names the arm)."""
    return bool(rec.meta.get("matched_checkpoint"))


def check_one_system_per_label(records: Iterable[ResultRecord], *, allow_mixed: bool = False) -> None:
    """Cells filed under one (task, label) must be one system (:meth:`System.checkpoint_key`); see the module
    docstring."""
    first: dict[tuple[str, str], tuple[ResultRecord, dict]] = {}
    for rec in records:
        b = System.from_record(rec).checkpoint_key()
        other, a = first.setdefault((rec.task, rec.model), (rec, b))
        if other is rec:
            continue
        if _matched_view(other) and _matched_view(rec):   # train-matched's view: one checkpoint per pooling
            a, b = ({k: v for k, v in key.items() if k != "identity"} for key in (a, b))
        if a != b:
            what = "; ".join(differences(a, b))
            msg = (f"task {rec.task!r}, label {rec.model!r}: {other.where} and this cell were produced by different "
                   f"systems ({what}), so they are not poolings of one checkpoint; rerun them together "
                   f"(lmkbench run files another checkpoint or setting under its own label), or pass --allow-mixed")
            if not allow_mixed:
                raise InputError(msg, file=rec.where, field="meta.system")
            log.warning("%s (paired anyway: --allow-mixed)", msg)
