"""Length (and depth) buckets: which slice of a task an item belongs to.

The question lmkbench answers is *how the best pooling changes with document length*, so every comparison
is repeated inside half-open length buckets ``[lo, hi)`` in tokens. Default edges double from 512 up to
32k, with ``0`` below and ``inf`` above::

    0 | 512 | 1k | 2k | 4k | 8k | 16k | 32k | inf        ("1k" = 1024 tokens)

Which length an item has:

* synthetic tasks (passkey, needle) record the length they were *built* to have as ``target_length``;
  that is the experimental factor, so those items bucket by it (the realised ``length`` differs by a
  few tokens and would scatter one design point over two buckets);
* everything else buckets by its own ``length`` (retrieval: the longest relevant document of the query;
  classification / clustering: the text itself).

Items that carry a ``depth`` (needle position as a fraction 0..1 of the haystack) are also binned on a
second axis, depth, with edges ``0, 0.2, 0.4, 0.6, 0.8, 1`` (the last bin includes 1.0). The two axes are
reported side by side, not crossed by default: a cross product leaves few items per cell to test; ``cross``
(``compare --cross``) adds the length × depth cells as a third axis.

Real retrieval tasks have no true depth; their items carry an *estimated* ``evidence_depth`` (the best BM25
passage of the gold document, :mod:`lmkbench.evidence`), which the depth axis uses where ``depth`` is absent
(labelled ``est. depth`` then).

Every item also belongs to the ``all`` bucket.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from ..errors import LmkbenchError

INF = math.inf
DEFAULT_EDGES: tuple[float, ...] = (0, 512, 1024, 2048, 4096, 8192, 16384, 32768, INF)
DEFAULT_DEPTH_EDGES: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)

ALL = "all"
CROSS = "length×depth"


@dataclass(frozen=True)
class Bucket:
    """One slice of a task. ``axis`` is ``"all"``, ``"length"`` or ``"depth"``; ``lo <= x < hi``
    (``closed_high`` makes the last depth bin include its upper edge)."""

    axis: str
    lo: float = -INF
    hi: float = INF
    closed_high: bool = False
    #: the depth bin of a ``length×depth`` cell (``lo``/``hi`` are then its length edges)
    depth: "Bucket | None" = None
    estimated: bool = False  # depth estimated from the evidence (evidence_depth), not a true needle depth

    @property
    def label(self) -> str:
        if self.axis == ALL:
            return ALL
        if self.axis == "depth":
            return f"{'est. ' if self.estimated else ''}depth {format_edge(self.lo)}-{format_edge(self.hi)}"
        if self.axis == CROSS:
            return f"{Bucket('length', self.lo, self.hi).label} × {self.depth.label}"
        if self.hi == INF:
            return f"{format_edge(self.lo)}+"
        return f"{format_edge(self.lo)}-{format_edge(self.hi)}"

    def contains(self, value: float | None) -> bool:
        if self.axis == ALL:
            return True
        if value is None or value == -INF:
            return False
        return self.lo <= value < self.hi or (self.closed_high and value == self.hi)

    def to_dict(self) -> dict[str, Any]:
        out = {"label": self.label, "axis": self.axis,
               "lo": None if self.lo == -INF else _json_edge(self.lo),
               "hi": None if self.hi == INF else _json_edge(self.hi)}
        if self.depth is not None:
            out["depth"] = self.depth.to_dict()
        if self.estimated:
            out["estimated"] = True
        return out


def _json_edge(v: float):
    return int(v) if float(v).is_integer() else float(v)


def format_edge(v: float) -> str:
    """``1024`` → ``"1k"``, ``1536`` → ``"1.5k"``, ``512`` → ``"512"``, ``inf`` → ``"inf"``, ``0.2`` → ``"0.2"``."""
    if v == INF:
        return "inf"
    if v >= 1024 and (v / 1024 * 2).is_integer():
        k = v / 1024
        return f"{int(k)}k" if k.is_integer() else f"{k:g}k"
    return f"{int(v)}" if float(v).is_integer() else f"{v:g}"


_EDGE = re.compile(r"^\s*(inf|\d+(?:\.\d+)?)\s*(k?)\s*$", re.IGNORECASE)


def parse_edges(text: str | Sequence[float] | None, *, default: Sequence[float] = DEFAULT_EDGES) -> tuple[float, ...]:
    """Bucket edges from ``"0,512,1k,2k,inf"`` (``k`` = ×1024) or a sequence of numbers.

    Edges must be non-negative and strictly increasing, at least two of them. ``None`` gives ``default``.
    """
    if text is None:
        return tuple(float(e) for e in default)
    if isinstance(text, str):
        parts = [p for p in text.split(",") if p.strip()]
        edges = []
        for part in parts:
            m = _EDGE.match(part)
            if not m:
                raise LmkbenchError(f"bad bucket edge {part.strip()!r} in {text!r} (expected numbers like 512, 1k, inf)")
            num, k = m.groups()
            value = INF if num.lower() == "inf" else float(num) * (1024 if k else 1)
            edges.append(value)
    else:
        try:
            edges = [float(e) for e in text]
        except (TypeError, ValueError):
            raise LmkbenchError(f"bucket edges must be numbers, got {text!r}") from None
    if len(edges) < 2:
        raise LmkbenchError(f"need at least two bucket edges, got {text!r}")
    if any(math.isnan(e) or e < 0 for e in edges):
        raise LmkbenchError(f"bucket edges must be >= 0, got {text!r}")
    if any(b <= a for a, b in zip(edges, edges[1:])):
        raise LmkbenchError(f"bucket edges must be strictly increasing, got {text!r}")
    return tuple(edges)


def length_buckets(edges: Sequence[float] = DEFAULT_EDGES) -> list[Bucket]:
    edges = parse_edges(edges)
    return [Bucket("length", lo, hi) for lo, hi in zip(edges, edges[1:])]


def parse_depth_edges(text: str | Sequence[float] | None) -> tuple[float, ...]:
    """Depth bin edges (:func:`parse_edges`); a depth is a fraction of the document, so every edge must lie in
    ``[0, 1]``: an edge outside it is named as unusable (no item can reach it) instead of leaving empty bins."""
    edges = parse_edges(text, default=DEFAULT_DEPTH_EDGES)
    lo, hi = DEFAULT_DEPTH_EDGES[0], DEFAULT_DEPTH_EDGES[-1]
    bad = [format_edge(e) for e in edges if not lo <= e <= hi]
    if bad:
        raise LmkbenchError(f"--depth-buckets {text if isinstance(text, str) else ','.join(map(format_edge, edges))}: "
                            f"edge(s) {', '.join(bad)} unusable: a depth is a fraction of the document, "
                            f"{format_edge(lo)} to {format_edge(hi)}")
    return edges


def depth_buckets(edges: Sequence[float] = DEFAULT_DEPTH_EDGES) -> list[Bucket]:
    edges = parse_depth_edges(edges)
    n = len(edges) - 1
    return [Bucket("depth", lo, hi, closed_high=(i == n - 1 and hi != INF))
            for i, (lo, hi) in enumerate(zip(edges, edges[1:]))]


def _number(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def bucket_length(item: dict[str, Any]) -> float | None:
    """The length an item is bucketed by: ``target_length`` when present (synthetic tasks), else ``length``."""
    target = _number(item.get("target_length"))
    return target if target is not None else _number(item.get("length"))


def item_depth(item: dict[str, Any]) -> float | None:
    """The depth an item is bucketed by: the true ``depth`` (synthetic), else the estimated ``evidence_depth``."""
    true = _number(item.get("depth"))
    return true if true is not None else _number(item.get("evidence_depth"))


def assign(items: dict[str, dict[str, Any]], buckets: Iterable[Bucket]) -> dict[Bucket, list[str]]:
    """Bucket → ids of the items in it (in the items' order). The ``all`` bucket holds every id."""
    out: dict[Bucket, list[str]] = {}
    for bucket in buckets:
        if bucket.axis == ALL:
            ids = list(items)
        elif bucket.axis == "depth":
            ids = [i for i, rec in items.items() if bucket.contains(item_depth(rec))]
        elif bucket.axis == CROSS:
            ids = [i for i, rec in items.items()
                   if bucket.contains(bucket_length(rec)) and bucket.depth.contains(item_depth(rec))]
        else:
            ids = [i for i, rec in items.items() if bucket.contains(bucket_length(rec))]
        out[bucket] = ids
    return out


def grid(edges: Sequence[float] = DEFAULT_EDGES, depth_edges: Sequence[float] | None = DEFAULT_DEPTH_EDGES,
         *, with_depth: bool = False, estimated: bool = False, cross: bool = False) -> list[Bucket]:
    """The bucket list of one task: ``all``, the length buckets, then (if ``with_depth``) the depth buckets
    (``estimated``: from ``evidence_depth``) and, with ``cross``, every length × depth cell."""
    out = [Bucket(ALL)] + length_buckets(edges)
    if with_depth and depth_edges is not None:
        depths = [Bucket("depth", d.lo, d.hi, d.closed_high, estimated=estimated) for d in depth_buckets(depth_edges)]
        out += depths
        if cross:
            out += [Bucket(CROSS, lb.lo, lb.hi, depth=d, estimated=estimated)
                    for lb in length_buckets(edges) for d in depths]
    return out


def has_depth(items: dict[str, dict[str, Any]]) -> bool:
    """True when items carry a true or an estimated depth."""
    return any(item_depth(rec) is not None for rec in items.values())


def depth_is_estimated(items: dict[str, dict[str, Any]]) -> bool:
    """True when no item has a true ``depth`` but some have an estimated ``evidence_depth``."""
    return (not any(_number(rec.get("depth")) is not None for rec in items.values())
            and any(_number(rec.get("evidence_depth")) is not None for rec in items.values()))


def unbucketed(items: dict[str, dict[str, Any]], edges: Sequence[float]) -> int:
    """How many items fall in no length bucket (no length recorded, or outside the edges)."""
    lo, hi = edges[0], edges[-1]
    return sum(1 for rec in items.values()
               if (v := bucket_length(rec)) is None or not (lo <= v < hi))
