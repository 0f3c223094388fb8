"""Per-query drill-down: the queries on which the poolings disagree most, with the gold document's rank.

For a retrieval section, every query scored by all poolings gets a *disagreement* = max − min of its
main-metric score across poolings; the top ``n`` are listed with the query text, its relevant (gold)
document ids and, per pooling, the score and the rank of the best-ranked gold document in the TREC run
file written beside each result (``<pooling>.trec``, top 100 per query).

Result files do not store query texts or relevant document ids. They are found, in order: in the per-query
records (fields ``query_text`` and ``relevant`` / ``gold_doc``, where the runner stores them); else by
loading the task's data again through its task spec (``meta.lmkbench_task_source`` if it is one, e.g.
``beir:PATH``, else the task's name, which is its spec for a catalogue task) where the data is present.
A report only reads: a result file is untrusted input, so its spec is followed only to data that is already
local (a catalogue task or an ad-hoc spec of a local loader, whose availability is "yes"); it never starts a
download, never reads a task file or suite it names, and never resolves an ``mteb:`` spec (hub data, and a
``task_class`` would import code). Otherwise the note says "data not available locally";
synthetic tasks are rebuilt from their seed with the evaluated model's tokenizer (``meta.model_path``). Without gold ids the rank is read off MRR@10 (``1 / mrr``) when the
result has it. Anything missing is shown as missing, with a note saying why.

Each pooling's cell says whether the query's relevant document was *cut* (``truncated``: content lost) or
*split* into windows (``split``: nothing lost; absent in older results = not split), and whether its top 10
was decided by tied scores.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import LmkbenchError
from ..io import read_trec_run
from ..results import ResultRecord
from .collect import Section
from .tables import numbers, score_field

QUERY_TEXT_FIELDS = ("query_text", "query")
RELEVANT_FIELDS = ("relevant", "relevant_docs", "gold_doc", "gold")


@dataclass
class TaskData:
    queries: dict[str, str] = field(default_factory=dict)
    relevant: dict[str, list[str]] = field(default_factory=dict)
    note: str = ""


class TaskDataLoader:
    """Query texts and relevant doc ids per task, from the results or the task's data (cached per source)."""

    def __init__(self, load_data: bool = True):
        self.load_data = load_data
        self._cache: dict[str, TaskData] = {}
        self._tokenizers: dict[str, object] = {}

    def for_record(self, record: ResultRecord) -> TaskData:
        stored = self._stored(record)
        if stored.queries and stored.relevant:
            return stored
        # the spec the task was run from, else its name (a catalogue task's spec is its name)
        specs = [s for s in dict.fromkeys((record.meta.lmkbench_task_source, record.task)) if s]
        loaded, notes = TaskData(note="no task spec"), []
        for spec in specs:
            loaded = self._from_source(spec, record.task, record.meta.model_path)
            if loaded.queries:
                break
            notes.append(loaded.note)
        note = "" if loaded.queries else "; ".join(dict.fromkeys(n for n in notes if n)) or loaded.note
        return TaskData(queries=stored.queries or loaded.queries, relevant=stored.relevant or loaded.relevant,
                        note=note)

    @staticmethod
    def _stored(record: ResultRecord) -> TaskData:
        out = TaskData()
        for qid, it in record.items.items():
            text = next((it[f] for f in QUERY_TEXT_FIELDS if isinstance(it.get(f), str)), None)
            if text is not None:
                out.queries[qid] = text
            rel = next((it[f] for f in RELEVANT_FIELDS if isinstance(it.get(f), (list, dict, str))), None)
            if rel is not None:
                out.relevant[qid] = [rel] if isinstance(rel, str) else [str(d) for d in rel]
        return out

    def _from_source(self, source: str, task_name: str, model_path: str | None = None) -> TaskData:
        key = f"{source}\0{task_name}\0{model_path}"
        if key not in self._cache:
            self._cache[key] = self._load(source, task_name, model_path)
        return self._cache[key]

    def _tokenizer(self, model_path: str | None):
        """The evaluated model's tokenizer (synthetic tasks are built in its tokens), if it is on disk."""
        if not model_path or not Path(model_path).is_dir():
            return None
        if model_path not in self._tokenizers:
            from transformers import AutoTokenizer

            try:
                self._tokenizers[model_path] = AutoTokenizer.from_pretrained(model_path)
            except (OSError, ValueError):
                self._tokenizers[model_path] = None
        return self._tokenizers[model_path]

    def _load(self, source: str, task_name: str, model_path: str | None) -> TaskData:
        if not self.load_data:
            return TaskData(note="task data not loaded (--no-task-data)")
        try:
            tasks = local_tasks(source)
            if not tasks:
                return TaskData(note=f"data not available locally ({source!r} is not a catalogue task or a local "
                                     "loader spec; a report never fetches data or runs code a result names)")
            task = next((t for t in tasks if t.name == task_name), tasks[0] if len(tasks) == 1 else None)
            if task is None:
                return TaskData(note=f"task spec {source!r} does not name task {task_name!r}")
            status, why = task.availability()
            if status != "yes":
                return TaskData(note=f"data not available locally ({source!r}: {why}; a report never fetches)")
            if task.needs_tokenizer:
                tokenizer = self._tokenizer(model_path)
                if tokenizer is None:
                    return TaskData(note=f"synthetic task: the model's tokenizer ({model_path}) is needed to rebuild "
                                         f"its data and is not available")
                data = task.load(tokenizer=tokenizer)
            else:
                data = task.load()
        except (LmkbenchError, OSError, ValueError) as exc:
            return TaskData(note=f"could not load the task's data ({exc})")
        queries = getattr(data, "queries", None)
        qrels = getattr(data, "qrels", None)
        if not isinstance(queries, dict) or not isinstance(qrels, dict):
            return TaskData(note="the task's data has no queries")
        relevant = {q: [d for d, g in sorted(rels.items(), key=lambda kv: (-kv[1], kv[0])) if g > 0]
                    for q, rels in qrels.items()}
        return TaskData(queries=dict(queries), relevant=relevant)


#: loaders a report never resolves from a result's spec: resolving ``mteb:`` reads task metadata from mteb and,
#: with ``task_class=module:Class``, imports a module the (untrusted) result names
NEVER_RESOLVED = ("mteb",)


def local_tasks(source: str) -> list:
    """The tasks a spec from a result file names, resolved only where that is safe: a catalogue task's name, or
    an ad-hoc spec of a loader outside :data:`NEVER_RESOLVED`. Anything else (a suite, a task file, a glob, an
    ``mteb:`` spec) is ``[]``. Availability is the caller's to check: resolving fetches nothing."""
    from ..tasks import LOADERS, adhoc_tasks, load_catalogue

    head = source.partition(":")[0]
    if head in LOADERS:
        return [] if head in NEVER_RESOLVED else adhoc_tasks(source)
    known = load_catalogue().tasks.get(source)
    return [known] if known is not None else []


TIE_BREAK_METRICS = ("ndcg_at_10", "mrr_at_10", "recall_at_100")


def _range(values) -> float:
    arr = numbers(values)
    return float(arr.max() - arr.min()) if arr.size else 0.0


def gold_rank(ranked: list[tuple[str, float]] | None, gold: list[str]) -> int | None:
    """1-based rank of the best-ranked gold document; None when none is in the run."""
    golds = set(gold)
    for rank, (doc, _) in enumerate(ranked or [], 1):
        if doc in golds:
            return rank
    return None


def _rank_from_mrr(item: dict) -> tuple[int | None, str]:
    mrr = item.get("mrr_at_10")
    if isinstance(mrr, (int, float)) and mrr > 0:
        return round(1 / mrr), ""
    return None, ">10"


def _tied(record: ResultRecord | None) -> set[str]:
    """Queries whose top-k in the record's TREC run was decided by equal scores (see stats.compare)."""
    from ..stats.ties import tied_topk_queries

    path = record.trec_path if record is not None else None
    return tied_topk_queries(path) if path is not None and path.exists() else set()


def disagreements(section: Section, loader: TaskDataLoader, top_n: int = 10, max_chars: int = 240) -> dict[str, Any] | None:
    """The ``top_n`` queries of a retrieval section with the largest score spread across poolings."""
    if section.kind != "retrieval" or top_n <= 0:
        return None
    fields = {p: score_field(section, p) for p in section.poolings}
    pools = [p for p in section.poolings if fields[p]]
    if len(pools) < 2:
        return None
    items = {p: section.items(p) for p in pools}
    common = set.intersection(*(set(v) for v in items.values()))
    spread, tie = {}, {}
    for item_id in common:
        vals = numbers([items[p][item_id].get(fields[p]) for p in pools])
        if vals.size == len(pools):
            spread[item_id] = float(vals.max() - vals.min())
            # ties (common with 0/1 scores) are broken by how much the graded metrics differ
            tie[item_id] = sum(_range([items[p][item_id].get(m) for p in pools]) for m in TIE_BREAK_METRICS)
    disagreeing = sorted((i for i, s in spread.items() if s > 0), key=lambda i: (-spread[i], -tie[i], i))
    chosen = disagreeing[:top_n]
    notes: list[str] = []
    data = {t: loader.for_record(next(section.records[t][p] for p in pools if p in section.records[t]))
            for t in {section.split_id(i)[0] for i in chosen}}
    for t, d in sorted(data.items()):
        if d.note:
            notes.append(f"{t}: {d.note}")
    runs: dict[tuple[str, str], dict | None] = {}
    for task in data:
        for p in pools:
            rec = section.records[task].get(p)
            path = rec.trec_path if rec is not None else None
            if path is not None and path.exists():
                runs[(task, p)] = read_trec_run(path)
            else:
                runs[(task, p)] = None
                notes.append(f"{task}/{p}: no TREC run file beside the result ({path})")
    tied = {key: _tied(section.records[key[0]].get(key[1])) for key in runs}
    rows = []
    rank_from = set()
    for item_id in chosen:
        task, qid = section.split_id(item_id)
        d = data[task]
        gold = d.relevant.get(qid, [])
        text = d.queries.get(qid)
        cells = []
        for p in pools:
            item = items[p][item_id]
            run = runs.get((task, p))
            rank, shown = None, ""
            if gold and run is not None:
                ranked = run.get(qid)
                rank = gold_rank(ranked, gold)
                shown = "" if rank is not None else f">{len(ranked or [])}"
                rank_from.add("run")
            else:
                rank, shown = _rank_from_mrr(item) if "mrr_at_10" in item else (None, "?")
                rank_from.add("mrr" if "mrr_at_10" in item else "none")
            cells.append({"pooling": p, "score": float(item.get(fields[p])), "rank": rank,
                          "rank_text": str(rank) if rank is not None else shown,
                          "truncated": item.get("truncated") is True,     # cut: content lost
                          "split": item.get("split") is True,             # windows: nothing lost
                          "tied": qid in tied.get((task, p), ())})
        best = max(c["score"] for c in cells)
        for c in cells:
            c["best"] = c["score"] == best
        clipped = text if text is None or len(text) <= max_chars else text[:max_chars].rstrip() + "…"
        rows.append({"id": item_id, "task": task, "qid": qid, "query": clipped, "query_full": text,
                     "gold": gold, "length": next((items[p][item_id].get("length") for p in pools), None),
                     "target_length": items[pools[0]][item_id].get("target_length"),
                     "depth": items[pools[0]][item_id].get("depth"), "spread": spread[item_id], "cells": cells})
    if "mrr" in rank_from:
        notes.append("relevant document ids unavailable: ranks are read off MRR@10 (rank of the first relevant "
                     "document, shown only when it is in the top 10)")
    return {"poolings": pools, "metric": fields[pools[0]], "rows": rows, "n_disagree": len(disagreeing),
            "n_common": len(common), "notes": notes}
