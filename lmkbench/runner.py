"""Run tasks × poolings for one model and write one result file per cell.

The runner is the only place that knows the whole flow: resolve task → load data → embed every text set
once for all poolings (the encoder shares forward passes and caches) → evaluate each pooling → attach
length information → write results atomically. Finished cells are skipped unless ``overwrite``; an
interrupted run resumes from finished cells and from the embedding cache.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .distributed import is_main_process, maybe_distributed
from .encoder import PooledEncoder
from .evaluate import evaluator_for
from .poolings import make_pooling
from .provenance import git_commit, hardware, versions
from .results import Cell, read_result, write_result
from .tasks import TaskDef, resolve_tasks


@dataclass
class RunSettings:
    model: str
    poolings: list[str] | None = None        # None: the checkpoint's trained pooling, else cls,mean,lmk
    out_dir: Path = Path("results")
    max_length: int | None = None
    long_policy: str = "truncate"
    device: str = "auto"
    dtype: str = "auto"
    token_budget: int | None = None
    cache_dir: object = None
    overwrite: bool = False
    progress: bool = True
    trust_remote_code: bool = False
    revision: str | None = None
    extra_meta: dict = field(default_factory=dict)


DEFAULT_POOLINGS = ["cls", "mean", "lmk"]


class Runner:
    def __init__(self, settings: RunSettings, encoder: PooledEncoder | None = None, log=print):
        self.s = settings
        self._encoder = encoder
        self.log = log
        self.rows: list[dict] = []

    @property
    def encoder(self) -> PooledEncoder:
        if self._encoder is None:
            s = self.s
            self._encoder = maybe_distributed(PooledEncoder(
                s.model, device=s.device, dtype=s.dtype, max_length=s.max_length, long_policy=s.long_policy,
                token_budget=s.token_budget, cache_dir=s.cache_dir, progress=s.progress,
                trust_remote_code=s.trust_remote_code, revision=s.revision))
        return self._encoder

    def model_label(self) -> str:
        from .models import model_label

        return self._encoder.loaded.label if self._encoder else model_label(self.s.model)

    def poolings(self) -> list[str]:
        if self.s.poolings:
            return [str(make_pooling(p).spec) for p in self.s.poolings]
        trained = self.encoder.loaded.trained_pooling
        return [str(make_pooling(trained).spec)] if trained else [str(make_pooling(p).spec) for p in DEFAULT_POOLINGS]

    def run(self, task_specs: list[str]) -> list[dict]:
        tasks: list[TaskDef] = []
        for spec in task_specs:
            tasks.extend(resolve_tasks(spec))
        for task in tasks:  # absent data or a changed checksum stops the run before any model loads
            check = getattr(task, "check", None)
            if check is not None and getattr(task, "availability", lambda: ("yes", ""))()[0] != "network":
                check()
        for task in tasks:
            self.run_task(task)
        return self.rows

    def run_task(self, task: TaskDef) -> list[Path]:
        label = self.model_label()
        poolings = self.poolings()
        todo = [p for p in poolings if self.s.overwrite or not Cell(task.name, label, p).done(self.s.out_dir)]
        for p in poolings:
            if p not in todo:
                rec = read_result(Cell(task.name, label, p).path(self.s.out_dir))
                self._summarise(rec, cached=True)
        if not todo:
            self.log(f"{task.name}: all {len(poolings)} cells done (use --overwrite to recompute)")
            return []
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        if task.needs_tokenizer:  # synthetic tasks are sized in the evaluated model's tokens
            data = task.load(tokenizer=self.encoder.loaded.tokenizer)
        else:  # read (and check) the data before the model loads: bad input fails fast
            data = task.load()
        timings["load_s"] = time.perf_counter() - t0
        enc = self.encoder
        evaluator = evaluator_for(task.kind, **task.evaluator_options)
        sets = evaluator.text_sets(data)
        embeddings: dict[str, dict[str, np.ndarray]] = {p: {} for p in todo}
        token_counts: dict[str, dict[str, int]] = {}
        truncated: dict[str, dict[str, dict[str, bool]]] = {p: {} for p in todo}
        enc_stats = {}
        for set_name, (ids, texts) in sets.items():
            t1 = time.perf_counter()
            res = enc.encode(texts, todo, desc=f"{task.name}/{set_name}")
            timings[f"encode_{set_name}_s"] = time.perf_counter() - t1
            enc_stats[set_name] = res.stats.as_dict()
            token_counts[set_name] = dict(zip(ids, res.token_counts.tolist()))
            for p in todo:
                embeddings[p][set_name] = res.embeddings[p]
                truncated[p][set_name] = dict(zip(ids, res.truncated[p].tolist()))
        paths = []
        for p in todo:
            t2 = time.perf_counter()
            out = evaluator.evaluate(data, embeddings[p])
            lengths = evaluator.length_of_items(data, token_counts, truncated[p])
            per_item = {i: {**vals, **lengths.get(i, {})} for i, vals in out.per_item.items()}
            eval_s = time.perf_counter() - t2
            record = {
                "task": task.name, "task_kind": task.kind, "task_group": task.group, "split": getattr(data, "split", None)
                or getattr(data, "eval_split", None), "model": label, "pooling": p, "main_metric": out.main_metric,
                "metrics": out.metrics, evaluator.per_item_key: per_item,
                "meta": self._meta(task, data, p, truncated[p], {**timings, "evaluate_s": eval_s}, enc_stats, out.info),
            }
            if is_main_process():  # under torchrun every rank encodes a shard; rank 0 writes
                paths.append(write_result(self.s.out_dir, record, out.run))
            self._summarise(record, cached=False)
        return paths

    def _meta(self, task, data, pooling, truncated, timings, enc_stats, info) -> dict:
        enc = self.encoder
        trained = enc.loaded.trained_pooling
        return {
            "lmkbench_task_source": task.source, "license": task.license, "dataset_checksums": data.checksums,
            "dataset_info": data.info, **enc.describe(),
            "truncated": {s: int(sum(v.values())) for s, v in truncated.items()},
            "n_texts": {s: len(v) for s, v in truncated.items()},
            "trained_pooling": trained,
            "pooling_mismatch": (trained is not None and str(make_pooling(trained).spec) != pooling),
            "timings": {k: round(v, 3) for k, v in timings.items()}, "encode_stats": enc_stats, "evaluator": info,
            "versions": versions(), "hardware": hardware(enc.device), "git_commit": git_commit(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **self.s.extra_meta,
        }

    def _summarise(self, rec: dict, cached: bool) -> None:
        self.rows.append({"task": rec["task"], "pooling": rec["pooling"], "metric": rec["main_metric"],
                          "score": rec["metrics"].get(rec["main_metric"]), "cached": cached,
                          "truncated": rec.get("meta", {}).get("truncated", {})})


def format_summary(rows: list[dict]) -> str:
    """Task × pooling table of the main metric."""
    if not rows:
        return "(no results)"
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    pools = list(dict.fromkeys(r["pooling"] for r in rows))
    cell = {(r["task"], r["pooling"]): r for r in rows}
    w0 = max(len("task"), *(len(t) for t in tasks))
    widths = [max(9, len(p)) for p in pools]
    lines = [f"{'task':<{w0}}  {'metric':<11} " + " ".join(f"{p:>{w}}" for p, w in zip(pools, widths))]
    for t in tasks:
        metric = next(r["metric"] for r in rows if r["task"] == t)
        vals = []
        for p, w in zip(pools, widths):
            r = cell.get((t, p))
            vals.append(f"{r['score']:>{w}.4f}" if r and r["score"] is not None else f"{'-':>{w}}")
        lines.append(f"{t:<{w0}}  {metric:<11} " + " ".join(vals))
    return "\n".join(lines)
