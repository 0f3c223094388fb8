"""``--format mteb``: mteb's results layout, one mteb "model" per lmkbench model × pooling.

Written as ``mteb.cache.ResultCache`` lays results out, so mteb's own readers load it::

    OUT/results/<org>__<model>__<pooling>/<revision>/<TaskName>.json    # one mteb.TaskResult per task
    OUT/results/<org>__<model>__<pooling>/<revision>/model_meta.json    # mteb.ModelMeta (pooling in it)

The model name is ``lmkbench/<model>__<pooling>`` (as :class:`lmkbench.mteb_adapter.MtebPooledEncoder`
names it), the revision the model identity lmkbench recorded (content hash of a local folder, or the hub
``name@revision``), made one safe path component (:func:`lmkbench.io.safe_name`, as every part of the path:
a crafted result cannot write outside OUT). A task that is an mteb task (``mteb:`` in its task file, or a task of the ``mteb`` loader without
a subset, whose data checksums match the catalogue's) is written under mteb's task name, split and
``hf_subset``, with mteb's metric keys and ``main_score`` (the value of mteb's main metric for that task).
Several lmkbench tasks can be one mteb task (``lemb_passkey_256`` … are splits of ``LEMBPasskeyRetrieval``).
Other tasks (BBC, synthetic, user tasks) are written as ``lmkbench.<task>`` with lmkbench's main metric as
``main_score`` (``--mteb-tasks-only`` leaves them out).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import LmkbenchError
from ..io import atomic_write_text, safe_child, safe_name
from ..results import ResultRecord
from . import ExportReport, Exporter, atomic_via, register_exporter

ORG = "lmkbench"
#: lmkbench metric → mteb's key for the same number (kinds: classification f1 is macro F1 in mteb)
KEY_ALIASES = {"classification": {"f1_macro": "f1"}}


def _name_part(text: str) -> str:
    return safe_name(text, empty="model")


def mteb_model_name(model: str, pooling: str) -> str:
    """``lmkbench/<model>__<pooling>``: one mteb model per checkpoint × pooling."""
    return f"{ORG}/{_name_part(model)}__{_name_part(pooling)}"


def result_path(out: Path, model_meta, task_name: str) -> Path:
    """Where ``mteb.cache.ResultCache(out)`` keeps a task result (``results/<model>/<revision>/<task>.json``),
    every part made one safe component inside ``out`` (names and revisions come from result files)."""
    return safe_child(out, "results", model_meta.model_name_as_path(), model_meta.revision, f"{task_name}.json")


def mteb_scores(rec: ResultRecord, main_key: str) -> dict[str, Any] | None:
    """A result's metrics under mteb's keys, with ``main_score``; None when ``main_key`` cannot be given."""
    kind = rec.task_kind
    metrics = {k: v for k, v in rec.metrics.items() if v is not None}
    scores: dict[str, Any] = dict(metrics)
    for ours, theirs in KEY_ALIASES.get(kind, {}).items():
        if ours in metrics:
            scores[theirs] = metrics[ours]
    ev = rec.meta.evaluator
    if kind == "classification" and ev.get("accuracy_per_experiment"):
        f1s = ev.get("f1_macro_per_experiment") or [None] * len(ev["accuracy_per_experiment"])
        scores["scores_per_experiment"] = [{"accuracy": a, **({"f1": f} if f is not None else {})}
                                           for a, f in zip(ev["accuracy_per_experiment"], f1s)]
    if kind == "clustering" and ev.get("v_measure_per_run"):
        scores["v_measures"] = list(ev["v_measure_per_run"])
    if main_key == "ndcg_at_1" and "ndcg_at_1" not in scores and "acc_at_1" in scores:
        # with exactly one relevant document per query, NDCG@1 equals accuracy@1
        items = rec.items if rec.item_table == "per_query" else {}
        if items and all(len(v.get("relevant") or ()) == 1 for v in items.values()):
            scores["ndcg_at_1"] = scores["acc_at_1"]
    if main_key not in scores:
        return None
    scores["main_score"] = scores[main_key]
    return scores


@register_exporter
class MtebExporter(Exporter):
    """mteb's results layout (model / revision / TaskResult JSON + model_meta.json) for mteb's ResultCache"""

    name = "mteb"
    needs = "mteb"

    def __init__(self, language: str = "eng-Latn", mteb_tasks_only: bool = False):
        super().__init__(language=language, mteb_tasks_only=mteb_tasks_only)
        self.language = language
        self.mteb_tasks_only = mteb_tasks_only

    # -- where a result goes ----------------------------------------------------------------------------
    def target(self, rec: ResultRecord, catalogue, report: ExportReport):
        """``(mteb task object or None, task name, split, hf_subset, main key)`` or None (skipped)."""
        import mteb

        where = rec.label
        task_def = catalogue.get(rec.task) if catalogue is not None else None
        spec = task_def.mteb if task_def is not None else None
        if spec is not None:
            pinned = task_def.sha256 or {}
            got = rec.meta.dataset_checksums
            if pinned and got and any(got.get(k) not in (None, v) for k, v in pinned.items()):
                report.notes.append(f"{where}: data checksums differ from the catalogue's {rec.task}; "
                                    "not exported as the mteb task")
                spec = None
        if spec is not None:
            try:
                task = mteb.get_task(spec["task"])
            except Exception as exc:  # mteb raises KeyError/ValueError for unknown names
                raise LmkbenchError(f"task {rec.task}: mteb has no task {spec['task']!r} "
                                    f"({type(exc).__name__}); fix 'mteb:' in {task_def.file}") from None
            md = task.metadata
            split = spec.get("split") or rec.split or md.eval_splits[0]
            if split not in md.eval_splits:
                report.skipped.append(f"{where}: split {split!r} is not one of mteb {md.name}'s "
                                      f"({', '.join(md.eval_splits)})")
                return None
            subset = spec.get("hf_subset") or "default"
            return task, md.name, split, subset, md.main_score
        if self.mteb_tasks_only:
            report.skipped.append(f"{where}: not an mteb task (--mteb-tasks-only)")
            return None
        return None, f"{ORG}.{safe_name(rec.task)}", rec.split or "test", "default", rec.main_metric

    # -- writing ---------------------------------------------------------------------------------------
    def write(self, records: list[ResultRecord], out: Path, report: ExportReport) -> None:
        from ..tasks import load_catalogue

        catalogue = load_catalogue().tasks
        cells: dict[tuple, dict] = {}   # (model name, revision, task name) → {task, scores, time, meta}
        for rec in records:
            tgt = self.target(rec, catalogue, report)
            if tgt is None:
                continue
            task, task_name, split, subset, main_key = tgt
            scores = mteb_scores(rec, main_key)
            where = rec.label
            if scores is None:
                report.skipped.append(f"{where}: no value for mteb's main metric {main_key!r}")
                continue
            key = (mteb_model_name(rec.model, rec.pooling), safe_name(rec.meta.model_identity or "no_revision"),
                   task_name)
            cell = cells.setdefault(key, {"task": task, "scores": {}, "time": 0.0, "rec": rec, "sources": []})
            if subset in cell["scores"].get(split, {}):
                report.skipped.append(f"{where}: {task_name} {split}/{subset} already exported from "
                                      f"{cell['sources'][-1]}")
                continue
            cell["scores"].setdefault(split, {})[subset] = scores
            cell["time"] += float(sum(v for v in rec.meta.timings.values() if v is not None))
            cell["sources"].append(str(rec.path or rec.task))
        metas: dict[tuple, Any] = {}
        for (name, revision, task_name), cell in sorted(cells.items(), key=lambda kv: kv[0]):
            model_meta = metas.setdefault((name, revision), self.model_meta(name, revision, cell["rec"]))
            result = self.task_result(cell, task_name)
            path = result_path(out, model_meta, task_name)
            report.files.append(atomic_via(path, lambda tmp, r=result: r.to_disk(Path(tmp))))
            meta_path = path.parent / "model_meta.json"
            atomic_write_text(meta_path, json.dumps(model_meta.to_dict(), default=str, indent=4))
            if meta_path not in report.files:
                report.files.append(meta_path)
        report.notes.append(f"{len(metas)} mteb model(s), {len(cells)} task result(s); "
                            f"load with mteb.cache.ResultCache({str(out)!r}).load_results(include_remote=False)")

    def task_result(self, cell: dict, task_name: str):
        import mteb

        if cell["task"] is not None:
            return mteb.TaskResult.from_task_results(cell["task"], cell["scores"], evaluation_time=cell["time"])
        checks = cell["rec"].meta.dataset_checksums
        revision = next(iter(sorted(checks.values())), "local")[:12] if checks else "local"
        flat = {split: [{**s, "hf_subset": sub, "languages": [self.language]} for sub, s in subs.items()]
                for split, subs in cell["scores"].items()}
        from importlib.metadata import version

        return mteb.TaskResult(dataset_revision=revision, task_name=task_name, scores=flat,
                               evaluation_time=cell["time"], mteb_version=version("mteb"))

    def model_meta(self, name: str, revision: str, rec: ResultRecord):
        from mteb.models.model_meta import ModelMeta

        meta = rec.meta
        setup = {"pooling": rec.pooling, "lmkbench_model": rec.model, "model_path": meta.model_path,
                 "max_length": meta.max_length, "long_policy": meta.long_policy,
                 "dtype": meta.dtype, "lmkbench_version": meta.versions.get("lmkbench")}
        return ModelMeta(loader=None, loader_kwargs={k: v for k, v in setup.items() if v is not None}, name=name,
                         revision=revision, release_date=None, languages=None, n_parameters=None,
                         memory_usage_mb=None, max_tokens=meta.max_length, embed_dim=None, license=None,
                         open_weights=None, public_training_code=None, public_training_data=None,
                         framework=["PyTorch"], similarity_fn_name="cosine", use_instructions=False,
                         training_datasets=None, adapted_from=rec.model)
