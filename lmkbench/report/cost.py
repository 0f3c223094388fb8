"""Cost per pooling, from the results' ``meta.encode_stats`` and ``meta.timings``.

The encoder builds one input *family* of sequences per pooling kind (``cls``, ``mean``, ``last`` share the
plain sequences; each ``lmk`` / ``multicls`` variant has its own, with extra marker tokens), runs each
family through the model once, and records per text set ``tokens`` (real tokens fed, all families) and
``per_family_tokens``. A pooling's *tokens fed* is its family's count, summed over the text sets and tasks
of its results. Encode time (``timings.encode_<set>_s``) is measured for all families of a run together;
a pooling's share of it is estimated in proportion to its family's tokens (forward cost is about linear in
tokens at these lengths) and labelled as an estimate. Poolings of the same family share one encoding: the
table says so rather than counting it twice as a saving.

Vectors reused from the embedding store cost what their encoding cost when it ran: the store records it per
shard (tokens fed, forward seconds; :data:`lmkbench.store.COST_FIELDS`) and the encoder reports it per text set
as ``reused_per_family_tokens`` / ``reused_per_family_s``. A pooling's tokens and encode time include that cost,
and ``reused_tokens`` / ``reused_s`` say how much of them is reused (measured then, not in this run), so a run
served entirely from the store shows the encoding its vectors took, not zero.

Long-document strategies (``chunk``, ``late``) record per text set the spec that encoded it, its family, rows
stored and chunks pooled (``meta.text_sets``): their queries use the inner pooling, their documents the
strategy, so each set is counted in its own family, and the row shows chunks and vectors per document.
Lexical systems (``bm25``) feed no tokens to a model: their row shows index + search time.
"""
from __future__ import annotations

from typing import Any

from ..results import ResultRecord
from ..stats.select import canonical_pooling


def family_key(pooling: str, known: set[str]) -> str | None:
    """The encoder's input family of ``pooling`` (through the pooling registry); None when unknown."""
    try:
        from ..poolings import make_pooling

        key = make_pooling(pooling).family().key
    except Exception:  # noqa: BLE001 - a pooling the registry of this version does not know
        key = None
    if key in known:
        return key
    return next(iter(known)) if len(known) == 1 else None


def cost_table(records: list[ResultRecord]) -> list[dict[str, Any]]:
    """One row per (model, pooling): tokens fed, estimated encode seconds, tasks counted, family."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for rec in records:
        stats, timings = rec.meta.encode_stats, rec.meta.timings
        if rec.meta.bm25 is not None:
            rows[(rec.model, rec.pooling)] = _lexical_row(rows.get((rec.model, rec.pooling)), rec, timings)
            continue
        if not stats:
            continue
        sets_used = rec.meta.text_sets or {}
        pooling = canonical_pooling(rec.pooling)
        row = rows.setdefault((rec.model, pooling), {"model": rec.model, "pooling": pooling, "tokens": 0,
                                                     "encode_s": 0.0, "tasks": set(), "family": None,
                                                     "estimated": False, "reused_tokens": 0, "reused_s": 0.0})
        row["tasks"].add(rec.task)
        for set_name, st in stats.items():
            if not isinstance(st, dict):
                continue
            fams = _numbers(st.get("per_family_tokens"))
            reused, reused_s = _numbers(st.get("reused_per_family_tokens")), _numbers(st.get("reused_per_family_s"))
            total = st.get("tokens") if isinstance(st.get("tokens"), (int, float)) else sum(fams.values())
            used = sets_used.get(set_name) if isinstance(sets_used.get(set_name), dict) else {}
            known = set(fams) | set(reused)
            key = used.get("family") if used.get("family") in known else (family_key(pooling, known) if known else None)
            if used.get("encoded_as") == pooling and used.get("vectors") is not None:  # a strategy's documents
                row["family"] = key  # the strategy's own encoding (its queries use the inner pooling's)
                row["docs"] = row.get("docs", 0) + int(used.get("texts") or 0)
                row["vectors"] = row.get("vectors", 0) + int(used["vectors"])
                row["chunks"] = row.get("chunks", 0) + int(used.get("chunks") or 0)
            mine = fams.get(key, 0) if key else total        # fed in this run
            again = reused.get(key, 0) if key else sum(reused.values())   # fed when the reused shards were made
            row["family"] = row["family"] or key
            row["tokens"] += int(mine + again)
            row["reused_tokens"] += int(again)
            row["reused_s"] += float(reused_s.get(key, 0.0) if key else sum(reused_s.values()))
            secs = timings.get(f"encode_{set_name}_s")
            if isinstance(secs, (int, float)):
                share = mine / total if total else 1.0
                row["encode_s"] += float(secs) * share
                row["estimated"] = row["estimated"] or len(fams) > 1
    out = []
    for row in sorted(rows.values(), key=lambda r: (r["model"], r["pooling"])):
        row["n_tasks"] = len(row.pop("tasks"))
        row["encode_s"] += row.get("reused_s", 0.0)
        row["reused"] = bool(row.get("reused_tokens"))
        docs = row.get("docs") or 0
        row["vectors_per_doc"] = row["vectors"] / docs if docs and row.get("chunks") else None
        row["chunks_per_doc"] = row["chunks"] / docs if docs and row.get("chunks") else None
        out.append(row)
    by_family: dict[tuple[str, str | None], list[str]] = {}
    for row in out:
        by_family.setdefault((row["model"], row["family"]), []).append(row["pooling"])
    for row in out:
        row["shares_with"] = [p for p in by_family[(row["model"], row["family"])] if p != row["pooling"]]
    return out


def against_baseline(rows: list[dict[str, Any]], baseline: str) -> dict[str, Any]:
    """The cost table as read: each row's tokens and encode time as a multiple of the same model's baseline
    pooling (``tokens_x``, ``time_x``; None for the baseline itself or where it is absent), and whether any row
    is a chunking strategy (else its chunk / vector columns are left out)."""
    base = canonical_pooling(baseline)
    ref = {r["model"]: r for r in rows if r["pooling"] == base}
    for r in rows:
        b = ref.get(r["model"])
        mine = b is not None and b is not r and not r.get("lexical")
        r["tokens_x"] = r["tokens"] / b["tokens"] if mine and b["tokens"] else None
        r["time_x"] = r["encode_s"] / b["encode_s"] if mine and b["encode_s"] else None
    return {"rows": rows, "baseline": base, "strategies": any(r.get("chunks_per_doc") is not None for r in rows),
            "estimated": any(r.get("estimated") for r in rows), "reused": any(r.get("reused") for r in rows)}


def _numbers(d) -> dict[str, float]:
    """The numeric entries of a per-family dict from a result file (anything else: none)."""
    return {k: v for k, v in d.items() if isinstance(v, (int, float))} if isinstance(d, dict) else {}


def _lexical_row(row, rec: ResultRecord, timings: dict) -> dict[str, Any]:
    """A lexical system's cost: no model tokens; index + search seconds (measured, not estimated)."""
    row = row or {"model": rec.model, "pooling": rec.pooling, "tokens": 0, "encode_s": 0.0, "tasks": set(),
                  "family": "lexical", "estimated": False, "lexical": True}
    row["tasks"].add(rec.task)
    row["encode_s"] += sum(float(timings.get(k) or 0) for k in ("index_s", "search_s"))
    return row
