"""Run tasks × poolings for one model and write one result file per cell.

The runner is the only place that knows the whole flow: resolve task → load data → stream every text set
once for all poolings through the encoder into the embedding store (shared forward passes, durable shards)
→ evaluate each pooling from the store → attach length information → write results atomically. Finished
cells are skipped unless ``overwrite``; an interrupted run resumes from finished cells and from every
finished shard in the store. An unwritable results folder stops the run before any model loads.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data.types import TextStream
from .distributed import is_distributed, is_main_process, job_id, maybe_distributed
from .encoder import PooledEncoder
from .errors import LmkbenchError
from .evaluate import evaluator_for
from .evaluate.base import IdArray
from .poolings import make_pooling
from .bm25 import is_lexical, parse_system, system_label as bm25_label
from .labels import variant_of
from .provenance import git_state, hardware, versions
from .results import Cell, ResultRecord, json_safe
from .reuse import differences, producing, system_label, task_folder
from .settings import EncoderSettings
from .store import open_store, writable_dir
from .system import VECTOR_SETTINGS, System, TaskRef, display_name, result_code_digest
from .tasks import TaskDef, resolve_tasks


@dataclass(init=False)
class RunSettings:
    """One run: the model, its poolings, where results go, and the :class:`EncoderSettings` it encodes with.

    Keyword arguments named as EncoderSettings fields (``max_length=``, ``device=``, ...) change ``encoder``
    (``RunSettings(model, max_length=256)``), as the Python API and the training loop pass them.
    """

    model: str
    poolings: list[str] | None                # None: the checkpoint's trained pooling, else DEFAULT_POOLINGS
    out_dir: Path
    encoder: EncoderSettings
    overwrite: bool
    progress: bool
    tokenizer: str | None                     # lexical systems (bm25): tokenizer of lengths and synthetic tasks
    extra_meta: dict

    def __init__(self, model: str, poolings: list[str] | None = None, out_dir=Path("runs"), *,
                 encoder: EncoderSettings | None = None, overwrite: bool = False, progress: bool = True,
                 tokenizer: str | None = None, extra_meta: dict | None = None, **encoder_changes):
        self.model, self.poolings, self.out_dir = model, poolings, out_dir
        self.encoder = EncoderSettings.of(encoder, **encoder_changes)
        self.overwrite, self.progress, self.tokenizer = overwrite, progress, tokenizer
        self.extra_meta = dict(extra_meta or {})
        _check_extra_meta(self.extra_meta)


def _check_extra_meta(extra: dict) -> None:
    """Keys a caller adds to every result's meta are checked before any work (a declared field's type)."""
    from pydantic import ValidationError

    from .configs.errors import input_error
    from .results import ResultMeta

    try:
        ResultMeta.of(extra)
    except ValidationError as exc:
        raise input_error(exc, extra, file="<extra_meta>") from None


#: what a run (and ``lmkbench embed``) evaluates when no pooling is named and the checkpoint declares none
DEFAULT_POOLINGS = ("cls", "mean", "lmk")


def default_poolings(trained: str | None) -> list[str]:
    """The canonical specs evaluated when none are named: the checkpoint's trained pooling, else
    :data:`DEFAULT_POOLINGS`."""
    return [str(make_pooling(p).spec) for p in ([trained] if trained else DEFAULT_POOLINGS)]


class Runner:
    def __init__(self, settings: RunSettings, encoder: PooledEncoder | None = None, log=print):
        self.s = settings
        self._encoder = encoder
        self.log = log
        self.rows: list[dict] = []
        self.filed: dict[str, tuple[str, str]] = {}   # task name → (task folder, label) its cells are filed under

    @property
    def encoder(self) -> PooledEncoder:
        if self._encoder is None:
            s = self.s
            # without a cache the shards go to a temporary folder inside the results folder (every torchrun
            # rank sees it there); it is removed when the run ends
            store = open_store(s.encoder.cache_dir, temp_parent=Path(s.out_dir),
                               temp_name=job_id() if is_distributed() else None, refresh=s.overwrite)
            self._encoder = maybe_distributed(PooledEncoder(s.model, s.encoder, progress=s.progress, store=store))
        return self._encoder

    @property
    def lexical(self) -> bool:
        return is_lexical(self.s.model)

    def model_label(self) -> str:
        """The label results are filed under when no other system holds it (:attr:`System.label`: checkpoint and
        settings variant, or the lexical system's label)."""
        if self.lexical:
            return bm25_label(parse_system(self.s.model))
        return self.encoder.label

    def system(self, pooling: str, settings: dict | None = None) -> System:
        """The :class:`System` that computes ``pooling``'s cells in this run (its code included)."""
        if self.lexical:
            spec = parse_system(self.s.model)
            self.length_tokenizer()   # its content identity: a tokenizer folder that changed is another system
            return System(name=bm25_label(spec), pooling=pooling, kind="lexical", identity=self._tok_identity,
                          settings={"bm25": dict(spec.params), **(settings or {})}, code=result_code_digest())
        enc = self.encoder
        d = enc.describe()
        training = getattr(enc.loaded, "training", None)
        seed = self.s.extra_meta.get("matched_seed", (training or {}).get("seed"))
        return System(name=display_name(enc.loaded.label), pooling=pooling, variant=variant_of(enc.settings),
                      identity=d["model_identity"], settings={k: d.get(k) for k in VECTOR_SETTINGS},
                      training=training, seed=seed if isinstance(seed, int) else None, code=result_code_digest())

    def poolings(self) -> list[str]:
        if self.lexical:
            return [parse_system(self.s.model).name]
        if self.s.poolings:
            return [str(make_pooling(p).spec) for p in self.s.poolings]
        return default_poolings(self.encoder.loaded.trained_pooling)

    def run(self, task_specs: list[str]) -> list[dict]:
        tasks: list[TaskDef] = []
        for spec in task_specs:
            tasks.extend(resolve_tasks(spec))
        why = writable_dir(Path(self.s.out_dir)) if is_main_process() else None
        if why is not None:  # before any model loads or any text is encoded
            raise LmkbenchError(f"results folder {self.s.out_dir} is not writable ({why})")
        for task in tasks:  # absent data or a changed checksum stops the run before any model loads
            if task.availability()[0] != "network":
                task.check()
        try:
            for i, task in enumerate(tasks, 1):
                if len(tasks) > 1:
                    self.log(f"[{i}/{len(tasks)}] {task.name} ({task.kind})")
                self.run_task(task)
        finally:
            self.close()
        return self.rows

    def close(self) -> None:
        """Remove a temporary store (no cache) once every rank is done with it."""
        enc = self._encoder
        if enc is None or not enc.store.temporary:
            return
        if enc.barrier is not None:
            enc.barrier()
        if is_main_process():
            enc.store.close()

    def run_task(self, task: TaskDef) -> list[Path]:
        if self.lexical:
            return self.run_lexical(task)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        if task.needs_tokenizer:  # synthetic tasks are sized in the evaluated model's tokens
            data = task.load(tokenizer=self.encoder.loaded.tokenizer)
        else:  # read (and check) the data before the model loads: bad input fails fast
            data = task.load()
        timings["load_s"] = time.perf_counter() - t0
        enc = self.encoder
        poolings = self.poolings()
        systems = {p: self.system(p) for p in poolings}
        task_ref, task_dir, label = self._filing(task, systems[poolings[0]])
        todo = self._cells_to_compute(task_dir, label, systems, task_ref, data.checksums, task.evaluator_options)
        if not todo:
            self.log(f"{task.name}: all {len(poolings)} cells done (use --overwrite to recompute)")
            return []
        evaluator = evaluator_for(task.kind, **task.evaluator_options)
        sets = evaluator.text_sets(data)
        embeddings: dict[str, dict] = {p: {} for p in todo}
        token_counts: dict[str, IdArray] = {}
        cut: dict[str, dict[str, IdArray]] = {p: {} for p in todo}
        split: dict[str, dict[str, IdArray]] = {p: {} for p in todo}
        enc_stats, prompts = {}, {}
        pool_objs = {p: make_pooling(p) for p in todo}
        used: dict[str, dict[str, dict]] = {p: {} for p in todo}  # pooling → set → what encoded it and its cost
        for set_name, (ids, texts) in sets.items():
            # strategies apply to documents; queries use their inner pooling (see strategies.Strategy.spec_for)
            role = ("query" if set_name in evaluator.query_sets else
                    "document" if set_name in evaluator.multi_vector_sets else "single")
            as_spec = {p: pool_objs[p].spec_for(role) for p in todo}
            prompt = prompt_for(enc.loaded, task.kind, set_name)
            if prompt:
                prompts[set_name] = prompt
                texts = TextStream(lambda p=prompt, t=texts: (p + x for x in t), len(ids))
            t1 = time.perf_counter()
            res = enc.encode_set(texts, list(dict.fromkeys(as_spec.values())), n=len(ids),
                                 desc=f"{task.name}/{set_name}")
            timings[f"encode_{set_name}_s"] = time.perf_counter() - t1
            enc_stats[set_name] = res.stats.as_dict()
            if res.stats.shards_reused:
                self.log(f"{task.name}/{set_name}: reused {res.stats.shards_reused} of {res.stats.shards} shards "
                         f"from the embedding store")
            token_counts[set_name] = IdArray(ids, res.token_counts)
            for p in todo:
                q = as_spec[p]
                stored = res.embeddings[q]
                embeddings[p][set_name] = stored if set_name in evaluator.streamed_sets else stored.array()
                cut[p][set_name] = IdArray(ids, res.cut[q])
                split[p][set_name] = IdArray(ids, res.split[q])
                used[p][set_name] = {"encoded_as": q, "texts": len(ids), "vectors": stored.vectors,
                                     "chunks": res.stats.chunks.get(q),
                                     "family": make_pooling(q).family().key,
                                     "tokens_fed": res.stats.per_family_tokens.get(make_pooling(q).family().key, 0)}
        paths = []
        if not is_main_process():  # under torchrun every rank encodes its shards; rank 0 evaluates and writes
            return paths
        trained = enc.loaded.trained_pooling
        for p in todo:
            t2 = time.perf_counter()
            out = evaluator.evaluate(data, embeddings[p])
            lengths = evaluator.length_of_items(data, token_counts, cut[p], split[p])
            # text_sets, per set: the spec that encoded it, rows stored, chunks pooled, tokens its family fed
            produced = {**enc.describe(), "prompts": prompts, "trained_pooling": trained,
                        "pooling_mismatch": trained is not None and str(make_pooling(trained).spec) != p,
                        "content_budget": enc.content_budget(p),
                        "encode_stats": enc_stats, "text_sets": used[p]}
            record = self._record(task, data, evaluator, out, lengths, p, cut[p], split[p],
                                  {**timings, "evaluate_s": time.perf_counter() - t2}, enc.device, produced,
                                  filed=(task_dir, label, systems[p], task_ref))
            paths.append(self._save(record, out.run))
        return paths

    def run_lexical(self, task: TaskDef) -> list[Path]:
        """``--model bm25``: an ordinary result cell (pooling label ``bm25``) from a lexical index, no encoder.

        Lengths are counted in ``--tokenizer``'s tokens (default MiniLM's), which also sizes synthetic tasks,
        so the length buckets line up with the dense models' cells."""
        from .bm25 import BM25
        from .encoder import content_token_counts

        spec = parse_system(self.s.model)
        pooling = spec.name
        if task.kind != "retrieval":
            self.log(f"{task.name}: skipped, {pooling} is a retrieval system (task kind {task.kind})")
            return []
        tok, tok_name = self.length_tokenizer()
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        data = task.load(tokenizer=tok) if task.needs_tokenizer else task.load()
        timings["load_s"] = time.perf_counter() - t0
        system = self.system(pooling, {"length_tokenizer": tok_name})
        task_ref, task_dir, label = self._filing(task, system)
        if not self._cells_to_compute(task_dir, label, {pooling: system}, task_ref, data.checksums,
                                      task.evaluator_options):
            self.log(f"{task.name}: cell done (use --overwrite to recompute)")
            return []
        evaluator = evaluator_for(task.kind, **task.evaluator_options)
        sets = evaluator.text_sets(data)
        t1 = time.perf_counter()
        token_counts = {name: IdArray(ids, content_token_counts(tok, texts)) for name, (ids, texts) in sets.items()}
        timings["count_tokens_s"] = time.perf_counter() - t1
        none = {name: IdArray(ids, np.zeros(len(ids), bool)) for name, (ids, _) in sets.items()}
        t2 = time.perf_counter()
        index = BM25(spec).index(list(sets["corpus"][1]))
        timings["index_s"] = time.perf_counter() - t2
        t3 = time.perf_counter()
        scores, idx = index.top_k(list(sets["queries"][1]), evaluator.k)
        timings["search_s"] = time.perf_counter() - t3
        out = evaluator.score_run(data, scores, idx, keep=lambda s: s > 0)
        lengths = evaluator.length_of_items(data, token_counts, none, none)
        produced = {"model": label, "bm25": index.describe(), "length_tokenizer": tok_name, "long_policy": "none"}
        record = self._record(task, data, evaluator, out, lengths, pooling, none, none, timings, "cpu", produced,
                              filed=(task_dir, label, system, task_ref))
        return [self._save(record, out.run)]

    def _filing(self, task: TaskDef, system: System) -> tuple[TaskRef, str, str]:
        """(the task's identity, the task folder and the label this run's cells are filed under): the natural
        names unless another task or system holds them (:mod:`lmkbench.reuse`), which the log says."""
        task_ref = TaskRef.of(task)
        task_dir = task_folder(self.s.out_dir, task_ref)
        label = system_label(self.s.out_dir, task_dir, system)
        if task_dir != task.name:
            self.log(f"{task.name}: {Path(self.s.out_dir) / task.name} holds another task of that name (other data); "
                     f"this one is filed under {task_dir}")
        if label != system.label:
            self.log(f"{task.name}: {system.label} holds another system's results (another checkpoint or setting); "
                     f"this one's are filed under {label}")
        self.filed[task.name] = (task_dir, label)
        return task_ref, task_dir, label

    def _cells_to_compute(self, task_dir: str, label: str, systems: dict[str, System], task_ref: TaskRef,
                          checksums: dict, evaluator_options: dict) -> list[str]:
        """The poolings whose cell must be computed: absent, unreadable, ``overwrite``, or produced by another
        system (checkpoint, setting, code), task, data or evaluator than today's (said in the log); the others
        are reused."""
        todo = []
        for p, system in systems.items():
            cell = Cell(task_dir, label, p)
            rec = None if self.s.overwrite else cell.read(self.s.out_dir)
            expected = producing(system, task_ref, checksums, evaluator_options)
            why = differences(rec, expected) if rec is not None else None
            if why:
                self.log(f"{task_dir}/{p}: recomputing {cell.path(self.s.out_dir)}, it was produced differently "
                         f"({'; '.join(why)})")
            if rec is None or why:
                todo.append(p)
            else:
                self._summarise(rec, cached=True)
        return todo

    def length_tokenizer(self):
        """The Hugging Face tokenizer a lexical system counts lengths with (``--tokenizer``, default minilm)."""
        if getattr(self, "_tok", None) is None:
            from transformers import AutoTokenizer

            from .models import model_identity, resolve_model_path

            name = self.s.tokenizer or "minilm"
            path = resolve_model_path(name)
            self._tok = (AutoTokenizer.from_pretrained(path), name)
            self._tok_identity = model_identity(name, path)
        return self._tok

    def _record(self, task: TaskDef, data, evaluator, out, lengths: dict, pooling: str, cut: dict, split: dict,
                timings: dict, device: str, produced: dict, *, filed: tuple[str, str, System, TaskRef]) -> dict:
        """One cell's result in the file's shape, dense or lexical: the evaluator's output with each item's
        length, and the meta (``produced``: what made the vectors or the ranking, after the data's provenance;
        the run's ``extra_meta``, then the system and task identities it is filed by: ``filed``)."""
        task_dir, label, system, task_ref = filed
        meta = {
            "lmkbench_task_source": task.source, "license": task.license, "dataset_checksums": data.checksums,
            "dataset_info": data.info, **produced, "evaluator_options": dict(task.evaluator_options or {}),
            "truncated": {s: int(v.values.sum()) for s, v in cut.items()},      # content cut (lost)
            "split": {s: int(v.values.sum()) for s, v in split.items()},        # windows: nothing lost
            "n_texts": {s: len(v) for s, v in cut.items()},
            "timings": {k: round(v, 3) for k, v in timings.items()}, "evaluator": out.info,
            "versions": versions(), "hardware": hardware(device), **git_state(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **self.s.extra_meta,
            "system": system.to_json(), "task_name": task.name, "task_identity": task_ref.identity,
        }
        record = {"task": task_dir, "task_kind": task.kind, "task_group": task.group,
                  "split": getattr(data, "split", None) or getattr(data, "eval_split", None), "model": label,
                  "pooling": pooling, "main_metric": out.main_metric, "metrics": out.metrics,
                  evaluator.per_item_key: {i: {**vals, **lengths.get(i, {})} for i, vals in out.per_item.items()},
                  "meta": meta}
        if out.item_scores is not None:
            record["item_scores"] = list(out.item_scores)
        return record

    def _save(self, record: dict, run) -> Path:
        """Check a new result as a record (as a file is read back), write it (and its TREC run) and add it to
        the summary."""
        rec = ResultRecord.from_json(json_safe(record), where=f"<result of {record['task']} / {record['model']} / "
                                                              f"{record['pooling']}>")
        path = rec.write(self.s.out_dir, run)
        self._summarise(rec, cached=False)
        return path

    def _summarise(self, rec: ResultRecord, cached: bool) -> None:
        self.rows.append({"task": rec.task, "pooling": rec.pooling, "metric": rec.main_metric, "score": rec.value,
                          "cached": cached, "truncated": rec.meta.truncated, "n_texts": rec.meta.n_texts})


#: which of a checkpoint's sentence-transformers prompts applies to which text set of a retrieval task
PROMPT_NAMES = {"queries": ("query",), "corpus": ("document", "passage", "corpus")}


def prompt_for(loaded, kind: str, set_name: str) -> str:
    """The prompt a checkpoint declares for this text set (retrieval queries / documents), else ''."""
    prompts = getattr(loaded, "prompts", None) or {}
    if kind != "retrieval":
        return ""
    return next((prompts[k] for k in PROMPT_NAMES.get(set_name, ()) if prompts.get(k)), "")


def format_summary(rows: list[dict]) -> str:
    """Task × pooling table of the main metric, tasks in length order (:func:`lmkbench.variants.task_order`);
    a cell whose texts were cut at the max length says which share of which text set (``cut 100% corpus``)."""
    from .order import task_order

    if not rows:
        return "(no results)"
    tasks = sorted(dict.fromkeys(r["task"] for r in rows), key=task_order)
    pools = list(dict.fromkeys(r["pooling"] for r in rows))
    cell = {(r["task"], r["pooling"]): r for r in rows}
    text = {k: (f"{r['score']:.4f}" if r["score"] is not None else "-") + _cut_note(r) for k, r in cell.items()}
    w0 = max(len("task"), *(len(t) for t in tasks))
    widths = [max(9, len(p), *(len(v) for (_, q), v in text.items() if q == p)) for p in pools]
    lines = [f"{'task':<{w0}}  {'metric':<11} " + " ".join(f"{p:>{w}}" for p, w in zip(pools, widths))]
    for t in tasks:
        metric = next(r["metric"] for r in rows if r["task"] == t)
        lines.append(f"{t:<{w0}}  {metric:<11} " + " ".join(f"{text.get((t, p), '-'):>{w}}" for p, w in zip(pools, widths)))
    if any(_cut_note(r) for r in rows):
        lines.append("cut N% SET: share of that text set's texts cut at the max length (content lost)")
    return "\n".join(lines)


def _cut_note(row: dict) -> str:
    """`` (cut 100% corpus)`` for each text set of the row with texts cut; counts where the row has no totals."""
    totals = row.get("n_texts") or {}
    parts = [f"{100 * n / totals[s]:.0f}% {s}" if totals.get(s) else f"{n} {s}"
             for s, n in (row.get("truncated") or {}).items() if n]
    return f" (cut {', '.join(parts)})" if parts else ""
