"""The results store: one JSON file per (task, model, pooling), plus a TREC run for retrieval.

Layout: ``<out>/<task>/<model-slug>/<pooling-slug>.json`` (and ``.trec`` beside it).

A result file (schema ``lmkbench.result/1``) holds::

    task, task_kind ("retrieval" | "classification" | "clustering"), split, model, pooling,
    main_metric,                 # e.g. "ndcg_at_10"; greater is better for every metric we store
    metrics: {name: value},      # averages over evaluated items
    per_query | per_item: {id: {metric: value, ..., "length": int, "truncated": bool, ...}}
    meta: {versions, device, dtype, max_length, long_policy, truncated, n_texts, timings, checksums, git, ...}

``per_query`` (retrieval) records for each query its metric values, ``length`` (tokens of the longest
relevant document in the evaluated model's tokenizer, content tokens without special tokens),
``lengths`` (all relevant documents) and ``truncated`` (whether that document was cut).
Synthetic tasks add ``target_length`` and ``depth``. ``per_item`` (classification, clustering) records
per text its outcome and ``length``.
"""
from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .errors import InputError
from .io import atomic_write_json, atomic_write_text
from .specs import slug  # noqa: F401  (re-exported: results name their files with it)

SCHEMA = "lmkbench.result/1"

log = logging.getLogger(__name__)

#: per-item fields that describe an item (its length, cut/split, depth, ...) rather than score it
AUX_FIELDS = frozenset({"length", "lengths", "truncated", "split", "target_length", "depth", "query_length",
                        "doc_tokens", "cluster", "evidence_depth", "evidence_depth_estimated"})


def json_safe(v):
    """The one NaN policy of every JSON lmkbench writes: non-finite floats become null, numpy scalars Python
    numbers, recursively through dicts, lists and tuples."""
    if isinstance(v, (np.floating, np.integer)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_safe(x) for x in v]
    return v


def result_path(out_dir, task: str, model: str, pooling: str) -> Path:
    return Path(out_dir) / slug(task) / slug(model) / f"{slug(pooling)}.json"


def write_result(out_dir, record: dict, run: dict[str, list[tuple[str, float]]] | None = None) -> Path:
    """Atomically write a result (and its TREC run, top-100 per query)."""
    for key in ("task", "model", "pooling", "metrics", "main_metric"):
        if key not in record:
            raise ValueError(f"result record lacks {key!r}")
    record = {"schema": SCHEMA, **record}
    path = result_path(out_dir, record["task"], record["model"], record["pooling"])
    if run is not None:
        atomic_write_text(path.with_suffix(".trec"), format_trec_run(run, tag=f"{record['model']}|{record['pooling']}"))
    atomic_write_json(path, record)
    return path


def format_trec_run(run: dict[str, list[tuple[str, float]]], tag: str = "lmkbench") -> str:
    tag = re.sub(r"\s+", "_", tag)
    lines = []
    for qid, ranked in run.items():
        for rank, (doc_id, score) in enumerate(ranked, 1):
            lines.append(f"{qid} Q0 {doc_id} {rank} {score:.6f} {tag}")
    return "\n".join(lines) + ("\n" if lines else "")


def read_trec_run(path) -> dict[str, list[tuple[str, float]]]:
    run: dict[str, list[tuple[str, float]]] = {}
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 6:
                raise InputError(f"expected 6 columns, got {len(parts)}", file=path, line=lineno)
            run.setdefault(parts[0], []).append((parts[2], float(parts[4])))
    return run


def read_result(path) -> dict:
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as fh:
            rec = json.load(fh)
    except FileNotFoundError:
        raise InputError("result file not found", file=path) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON ({exc.msg})", file=path, line=exc.lineno) from None
    if not isinstance(rec, dict) or rec.get("schema") != SCHEMA:
        raise InputError(f"not an lmkbench result (schema != {SCHEMA})", file=path, field="schema")
    rec["_path"] = str(path)
    return rec


def iter_results(root, *, on_bad: str = "warn") -> Iterator[dict]:
    """Every result file under ``root`` (recursively), sorted by path.

    A file that starts like a result but cannot be read (truncated, malformed) is never passed over in silence:
    ``on_bad="warn"`` logs a warning naming it and goes on (compare, report), ``"error"`` raises its
    :class:`InputError` (baseline and check: a gate must not stop checking a cell it lost).
    """
    if on_bad not in ("warn", "error"):
        raise ValueError(f"on_bad must be 'warn' or 'error', not {on_bad!r}")
    root = Path(root)
    if not root.exists():
        raise InputError("results folder not found", file=root)
    for path in sorted(root.rglob("*.json")):
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                head = fh.read(64)
        except OSError:
            continue
        if SCHEMA in head or '"schema"' in head:
            try:
                yield read_result(path)
            except InputError as exc:
                if on_bad == "error":
                    raise
                log.warning("skipping an unreadable result file: %s", exc)


def items_of(record: dict) -> dict[str, dict[str, Any]]:
    """The per-item table of a result: ``per_query`` for retrieval, ``per_item`` otherwise."""
    return record.get("per_query") or record.get("per_item") or {}


@dataclass(frozen=True)
class Cell:
    task: str
    model: str
    pooling: str

    def path(self, out_dir) -> Path:
        return result_path(out_dir, self.task, self.model, self.pooling)

    def done(self, out_dir) -> bool:
        p = self.path(out_dir)
        if not p.exists():
            return False
        try:
            read_result(p)
            return True
        except InputError:
            return False
