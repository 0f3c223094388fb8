"""A matched experiment: one base, one data set, one seed, one batch order — one checkpoint per pooling.

Each pooling is trained from the same base with identical settings (the batches at every step are the same
examples, see :class:`~lmkbench.train.trainer.BatchPlan`), then each checkpoint is evaluated with its own
pooling through :class:`lmkbench.runner.Runner`. Layout under ``DIR``::

    DIR/models/<base>-<pooling>/      # one trained model folder per pooling (resumable)
    DIR/results/                      # the runner's result files; model label = checkpoint folder name
    DIR/results_matched/              # the same results relabelled as ONE model, "<base>-matched", so that
                                      # `lmkbench compare` / the report pair poolings item by item as usual
    DIR/matched.json                  # what was matched: base, data, seed, settings, arms, tasks, overlap, summary

No training on the test: before any training, the training documents are checked against every evaluation
task's corpus (:mod:`lmkbench.train.overlap`, normalised text hash) and a shared document stops the run
unless ``allow_overlap``; then the overlap is recorded in ``matched.json``, every arm's ``lmkbench.json``
(``eval_overlap``) and every result's meta (``training_overlap``).

``results_matched`` exists because the comparison tools pair poolings only within one model label; a
matched experiment's poolings live in different checkpoints, and this view states that they belong to
one comparison. Each relabelled record keeps its checkpoint under ``meta.matched_checkpoint``.
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from ..errors import LmkbenchError
from ..io import atomic_write_json
from ..results import ResultRecord, iter_results, read_trec_run
from .spec import parse_train_poolings
from .trainer import TrainConfig, train

SCHEMA = "lmkbench.matched/1"


def arm_name(base_label: str, train_spec: str) -> str:
    from ..results import slug

    return f"{base_label}-{slug(train_spec)}"


def run_matched(base: str, poolings: str, data: str, out_dir, *, train_settings: dict, tasks: list[str],
                eval_settings: dict | None = None, allow_overlap: bool = False, log=print) -> dict:
    """Train every pooling, evaluate each checkpoint with its own pooling, write the matched view and json.

    ``train_settings`` are :class:`TrainConfig` keyword arguments (steps, batch_size, lr, seed, …) shared by
    every arm; ``eval_settings`` are :class:`lmkbench.runner.RunSettings` keyword arguments (max_length,
    long_policy, device, dtype, cache_dir, progress, overwrite). A training document found in an evaluation
    task's corpus raises :class:`LmkbenchError` unless ``allow_overlap``.
    """
    from ..models import model_label
    from ..runner import Runner, RunSettings

    out_dir = Path(out_dir)
    arms = parse_train_poolings(poolings)
    evals = [a.eval_spec for a in arms]
    dup = sorted({e for e in evals if evals.count(e) > 1})
    if dup:
        raise LmkbenchError(f"two arms would be evaluated with the same pooling ({', '.join(dup)}); a matched "
                            "comparison needs one arm per evaluation pooling (train the others with 'lmkbench train')")
    base_label = model_label(base)
    matched_label = f"{base_label}-matched"
    record: dict = {"schema": SCHEMA, "base": base, "matched_label": matched_label, "data": data,
                    "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in train_settings.items()},
                    "tasks": list(tasks), "results_dir": "results", "matched_results_dir": "results_matched",
                    "arms": [], "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    record["overlap"] = check_overlap(base, data, tasks, train_settings, allow_overlap=allow_overlap, log=log)
    shared = bool(record["overlap"] and record["overlap"]["shared"])
    extra_train = {"eval_overlap": record["overlap"]} if shared else {}
    for arm in arms:
        name = arm_name(base_label, arm.spec)
        cfg = TrainConfig(model=base, pooling=arm.spec, data=data, out=out_dir / "models" / name, resume=True,
                          extra_meta=extra_train, **train_settings)
        log(f"== training {name} ({arm.spec}) ==")
        res = train(cfg, log=log)
        record["arms"].append({"name": name, "pooling": res.pooling, "train_pooling": res.train_pooling,
                               "checkpoint": f"models/{name}", "steps": res.steps, "train_wall_s": round(res.wall_s, 1),
                               "loss_first10": _mean(res.loss_curve[:10]), "loss_last10": _mean(res.loss_curve[-10:]),
                               "reused": res.skipped})
        atomic_write_json(out_dir / "matched.json", record)
    rows = []
    if tasks:
        settings = dict(eval_settings or {})
        for arm in record["arms"]:
            log(f"== evaluating {arm['name']} with {arm['pooling']} ==")
            t0 = time.perf_counter()
            extra = {"matched_experiment": str(out_dir / "matched.json")}
            if shared:
                extra["training_overlap"] = {t: r["shared"] for t, r in record["overlap"]["tasks"].items()}
            rs = RunSettings(model=str(out_dir / arm["checkpoint"]), poolings=None, out_dir=out_dir / "results",
                             extra_meta=extra, **settings)
            runner = Runner(rs, log=log)
            got = runner.run(tasks)
            if runner.poolings() != [arm["pooling"]]:  # lmkbench.json must have steered the runner
                raise LmkbenchError(f"{arm['name']}: evaluated with {runner.poolings()}, expected {arm['pooling']}")
            arm["eval_wall_s"] = round(time.perf_counter() - t0, 1)
            rows.extend(got)
        write_matched_view(out_dir, record)
        record["summary"] = [{k: r[k] for k in ("task", "pooling", "metric", "score")} for r in rows]
    atomic_write_json(out_dir / "matched.json", record)
    record["_rows"] = rows
    return record


def check_overlap(base: str, data: str, tasks: list[str], train_settings: dict, *, allow_overlap: bool,
                  log=print) -> dict | None:
    """Hash the training documents and look them up in every evaluation task's corpus (None: no tasks).

    Refuses (:class:`LmkbenchError`) on a shared document unless ``allow_overlap``."""
    if not tasks:
        return None
    from ..tasks import resolve_tasks
    from .data import load_training_data
    from .overlap import describe_overlap, find_overlap, hash_texts

    resolved = [t for spec in tasks for t in resolve_tasks(spec)]
    tokenizer = None
    if any(t.needs_tokenizer for t in resolved):   # synthetic tasks are built in the model's tokens
        from transformers import AutoTokenizer

        from ..models import resolve_model_path

        tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(base))
    t0 = time.perf_counter()
    train_data = load_training_data(data, hard_negatives=train_settings.get("hard_negatives"),
                                    max_examples=train_settings.get("max_examples"))
    hashes = hash_texts(train_data.document_texts())
    found = find_overlap(hashes, resolved, tokenizer)
    shared = sum(r["shared"] for r in found.values())
    report = {"method": "normalised text hash (NFKC, case-folded, words joined by one space), exact documents",
              "training_documents": len(hashes), "shared": shared, "allowed": bool(allow_overlap),
              "tasks": found, "seconds": round(time.perf_counter() - t0, 2)}
    if shared and not allow_overlap:
        raise LmkbenchError(f"the training data ({data}) shares documents with the evaluation: {describe_overlap(found)}; "
                            "train on other data, or pass --allow-overlap to train anyway (it is then recorded in "
                            "matched.json, each model's lmkbench.json and each result)")
    log(f"overlap check: {len(hashes)} training documents against {len(resolved)} tasks: "
        + (f"shared, allowed: {describe_overlap(found)}" if shared else "none shared"))
    return report


def write_matched_view(out_dir: Path, record: dict) -> int:
    """Copy each arm's results (its own pooling only) into ``results_matched`` under one model label."""
    by_model = {a["name"]: a for a in record["arms"]}
    target = Path(out_dir) / record["matched_results_dir"]
    n = 0
    for rec in iter_results(Path(out_dir) / record["results_dir"]):
        arm = by_model.get(rec.model)
        if arm is None or rec.pooling != arm["pooling"]:
            continue
        run = read_trec_run(rec.trec_path) if rec.trec_path.exists() else None
        meta = rec.meta.updated(matched_checkpoint=arm["name"], matched_train_pooling=arm["train_pooling"])
        dataclasses.replace(rec, model=record["matched_label"], meta=meta, path=None).write(target, run)
        n += 1
    return n


def matched_results(matched_json) -> list[ResultRecord]:
    """The relabelled result records of a matched experiment (what ``compare()`` should be given)."""
    import json

    path = Path(matched_json)
    rec = json.loads(path.read_text(encoding="utf-8"))
    if rec.get("schema") != SCHEMA:
        raise LmkbenchError(f"{path}: not a matched experiment (schema != {SCHEMA})")
    return list(iter_results(path.parent / rec["matched_results_dir"]))


def _mean(xs):
    return round(sum(xs) / len(xs), 6) if xs else None


__all__ = ["arm_name", "check_overlap", "matched_results", "run_matched", "write_matched_view"]
