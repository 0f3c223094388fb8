"""A matched experiment: one base, one data set, one seed, one batch order — one checkpoint per pooling.

Each pooling is trained from the same base with identical settings (the batches at every step are the same
examples, see :class:`~lmkbench.train.trainer.BatchPlan`), then each checkpoint is evaluated with its own
pooling through :class:`lmkbench.runner.Runner`. Layout under ``DIR``::

    DIR/models/<base>-<pooling>/      # one trained model folder per pooling (resumable)
    DIR/results/                      # the runner's result files; model label = checkpoint folder name
    DIR/results_matched/              # the same results relabelled as ONE model, "<base>-matched", so that
                                      # `lmkbench compare` / the report pair poolings item by item as usual
    DIR/matched.json                  # what was matched: base, data, seeds, settings, arms, tasks, overlap,
                                      # summary, and (tasks given) each Δ per seed with its spread (deltas)

Evaluations: a second call with other evaluation settings (``--eval-max-length 4096 --positions pi``) reuses the
trained models and adds its results under that setting's label; ``matched.json`` then holds every evaluation in
the folder (``arms[].evaluations[<setting>]``, ``deltas[].evaluation``: ``512``, ``pi-4096``, ``as-trained``).

With several seeds (``--seeds 0,1,2``) every arm is trained once per seed, the arms of one seed on the same
batches; models are ``<base>-<pooling>-s<seed>`` and each seed's results are relabelled ``<base>-matched-s<seed>``
(one paired comparison per seed), so a Δ between poolings can be read against its spread across seeds.

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
from collections.abc import Iterator
from pathlib import Path

from ..errors import LmkbenchError
from ..io import atomic_write_json, read_trec_run, safe_child
from ..results import ResultRecord, iter_results
from ..labels import AS_TRAINED, split_label, variant_name, variant_of, with_variant as label_for_variant
from ..settings import EncoderSettings
from ..suites import LENGTH_SETTINGS
from .spec import parse_train_poolings
from .trainer import TrainConfig, train

SCHEMA = "lmkbench.matched/1"


def arm_name(base_label: str, train_spec: str) -> str:
    from ..specs import slug

    return f"{base_label}-{slug(train_spec)}"


def run_matched(base: str, poolings: str, data: str, out_dir, *, train_settings: dict, tasks: list[str],
                eval_settings: dict | None = None, allow_overlap: bool = False, seeds: list[int] | None = None,
                baseline: str | None = None, retrain: bool = False, log=print) -> dict:
    """Train every pooling, evaluate each checkpoint with its own pooling, write the matched view and json.

    ``train_settings`` are :class:`TrainConfig` keyword arguments (steps, batch_size, lr, seed, …) shared by
    every arm; ``eval_settings`` are :class:`lmkbench.runner.RunSettings` keyword arguments (max_length,
    long_policy, device, dtype, cache_dir, progress, overwrite). A training document found in an evaluation
    task's corpus raises :class:`LmkbenchError` unless ``allow_overlap``.

    ``seeds``: train every arm once per seed (the arms of one seed see the same batches); models are then
    ``<base>-<pooling>-s<seed>``, each seed's results are relabelled as ``<base>-matched-s<seed>``, and
    ``matched.json`` holds each task's Δ (pooling − ``baseline``, default mean) per seed and its spread.

    An arm already trained in ``out_dir`` is reused only when its recipe (settings, data checksums, base model
    identity, dtype: :func:`~lmkbench.train.trainer.recipe_of`) is this call's; otherwise the call refuses before
    any training, naming each arm and what differs, unless ``retrain`` (those arms are trained again).
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
    check_before_training(base, [a.eval_spec for a in arms], train_settings, eval_settings if tasks else None,
                          baseline)
    settings_common = dict(train_settings)
    multi = seeds is not None and len(seeds) > 1
    seed_list = list(seeds) if seeds else [int(settings_common.get("seed", 0))]
    if len(set(seed_list)) != len(seed_list):
        raise LmkbenchError(f"--seeds: a seed is given twice ({seed_list})")
    settings_common.pop("seed", None)
    base_label = model_label(base)
    labels = {s: f"{base_label}-matched" + (f"-s{s}" if multi else "") for s in seed_list}
    record: dict = {"schema": SCHEMA, "base": base, "matched_label": labels[seed_list[0]], "data": data,
                    "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in train_settings.items()},
                    "seeds": seed_list, "matched_labels": {str(s): labels[s] for s in seed_list},
                    "tasks": list(tasks), "results_dir": "results", "matched_results_dir": "results_matched",
                    "arms": [], "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    if multi:
        record["settings"]["seed"] = seed_list
    earlier = _earlier_arms(out_dir / "matched.json", record)   # read before this call rewrites it
    record["overlap"] = check_overlap(base, data, tasks, settings_common, allow_overlap=allow_overlap, log=log)
    shared = bool(record["overlap"] and record["overlap"]["shared"])
    extra_train = {"eval_overlap": record["overlap"]} if shared else {}
    configs = [(seed, arm, name, TrainConfig(model=base, pooling=arm.spec, data=data, out=out_dir / "models" / name,
                                             resume=True, retrain_changed=retrain, seed=seed, extra_meta=extra_train,
                                             **settings_common))
               for seed in seed_list for arm in arms
               for name in [arm_name(base_label, arm.spec) + (f"-s{seed}" if multi else "")]]
    if not retrain:
        check_arm_recipes([cfg for *_, cfg in configs])
    for seed, arm, name, cfg in configs:
        log(f"== training {name} ({arm.spec}, seed {seed}) ==")
        res = train(cfg, log=log)
        record["arms"].append({"name": name, "pooling": res.pooling, "train_pooling": res.train_pooling,
                               "seed": seed, "checkpoint": f"models/{name}", "steps": res.steps,
                               "train_wall_s": round(res.wall_s, 1), "loss_first10": _mean(res.loss_curve[:10]),
                               "loss_last10": _mean(res.loss_curve[-10:]), "reused": res.skipped})
        atomic_write_json(out_dir / "matched.json", record)
    rows = []
    train_lengths = {"document": (train_settings or {}).get("doc_max_length", TrainConfig.doc_max_length),
                     "query": (train_settings or {}).get("query_max_length", TrainConfig.query_max_length)}
    if tasks:
        settings = dict(eval_settings or {})
        evaluation = variant_of(EncoderSettings.of(**{k: settings[k] for k in LENGTH_SETTINGS
                                                      if settings.get(k) is not None})) or AS_TRAINED
        for arm in record["arms"]:
            log(f"== evaluating {arm['name']} with {arm['pooling']} ({evaluation}) ==")
            t0 = time.perf_counter()
            extra = {"matched_experiment": str(out_dir / "matched.json"),
                     # the length trained at, beside the evaluation's max_length / positions in the same meta
                     "training_lengths": {"document": arm.get("doc_max_length", train_lengths["document"]),
                                          "query": arm.get("query_max_length", train_lengths["query"])}}
            if shared:
                extra["training_overlap"] = {t: r["shared"] for t, r in record["overlap"]["tasks"].items()}
            rs = RunSettings(model=str(out_dir / arm["checkpoint"]), poolings=None, out_dir=out_dir / "results",
                             extra_meta=extra, **settings)
            runner = Runner(rs, log=log)
            got = runner.run(tasks)
            if runner.poolings() != [arm["pooling"]]:  # lmkbench.json must have steered the runner
                raise LmkbenchError(f"{arm['name']}: evaluated with {runner.poolings()}, expected {arm['pooling']}")
            walls = dict(earlier.get(arm["name"], {}).get("eval_wall_s", {}))
            if any(not r.get("cached") for r in got) or evaluation not in walls:   # all reused: the earlier time stands
                walls[evaluation] = round(time.perf_counter() - t0, 1)
            arm["eval_wall_s"] = walls
            rows.extend({**r, "seed": arm["seed"]} for r in got)
        summary = write_matched_view(out_dir, record, log)   # every evaluation in the folder, earlier calls' too
        record["summary"] = summary
        by_name = {arm["name"]: arm for arm in record["arms"]}
        for arm in record["arms"]:
            arm["evaluations"] = {}
        for r in summary:
            by_name[r["arm"]]["evaluations"].setdefault(r["evaluation"], {})[r["task"]] = r["score"]
        record["deltas"] = seed_deltas(record["arms"], baseline, {r["task"]: r["metric"] for r in summary})
    atomic_write_json(out_dir / "matched.json", record)
    record["_rows"] = [r for r in rows if r["seed"] == seed_list[0]]
    return record


def check_arm_recipes(configs: list[TrainConfig]) -> None:
    """Refuse, before any training, to reuse an arm trained (or half trained) in its folder with another recipe
    than its ``TrainConfig`` now gives: an old arm is never reported as the new one."""
    from ..encoder import resolve_device, resolve_dtype
    from .data import load_training_data
    from .state import list_checkpoints, read_meta
    from .trainer import recipe_differences, recipe_of

    def trained(cfg) -> dict | None:   # the finished run's meta, else the latest checkpoint's (what train reuses)
        meta = read_meta(cfg.out)
        if meta is not None and meta.get("complete"):
            return meta
        ckpts = list_checkpoints(cfg.out)
        return read_meta(ckpts[-1][1]) if ckpts else None

    found = [(cfg, meta) for cfg in configs if (meta := trained(cfg)) is not None]
    if not found:
        return
    first = found[0][0]
    data = load_training_data(first.data, hard_negatives=first.hard_negatives, max_examples=first.max_examples)
    dtype = resolve_dtype(first.dtype, resolve_device(first.device))
    changed = [(cfg, diff) for cfg, meta in found if (diff := recipe_differences(meta, recipe_of(cfg, data, dtype)))]
    if changed:
        listed = "; ".join(f"{Path(cfg.out).name}: {', '.join(diff)}" for cfg, diff in changed)
        raise LmkbenchError(f"arms in {Path(changed[0][0].out).parent} were trained with another recipe ({listed}); "
                            "train into another --out, or pass --retrain to train those arms again")


def check_before_training(base: str, eval_poolings: list[str], train_settings: dict, eval_settings: dict | None,
                          baseline: str | None) -> None:
    """Everything the command line, the base's ``config.json`` and the specs decide, checked before the first
    training step (one :class:`LmkbenchError`, exit 2) rather than after every arm has trained: the baseline is
    an arm; the training lengths fit the base; the evaluation's ``positions`` method fits the base's
    architecture and reaches ``max_length`` (``eval_settings`` None: no evaluation)."""
    from ..models import resolve_model_path
    from ..poolings import parse_poolings
    from ..positions import check_against_config, parse_positions

    if baseline is not None:
        try:
            wanted = str(parse_poolings(baseline)[0])
        except (LmkbenchError, IndexError) as exc:
            raise LmkbenchError(f"--baseline {baseline!r}: {exc or 'names no pooling'}") from None
        if wanted not in eval_poolings:
            raise LmkbenchError(f"--baseline {baseline} is not an arm's pooling (the arms: {', '.join(eval_poolings)})")
    folder = resolve_model_path(base)
    native = parse_positions("native")
    for flag, key in (("--doc-max-length", "doc_max_length"), ("--query-max-length", "query_max_length")):
        length = train_settings.get(key, getattr(TrainConfig, key))
        try:
            check_against_config(native, folder, length)
        except LmkbenchError:
            raise LmkbenchError(f"{flag} {length} exceeds the base model's position limit ({base})") from None
    if eval_settings is not None:
        positions = parse_positions(eval_settings.get("positions") or "native")
        try:
            check_against_config(positions, folder, eval_settings.get("max_length"))
        except LmkbenchError as exc:
            raise LmkbenchError(f"evaluation (--eval-max-length {eval_settings.get('max_length')}, --positions "
                                f"{positions}) on {base}: {exc}") from None


def _earlier_arms(path: Path, record: dict) -> dict[str, dict]:
    """The arms of an earlier call's ``matched.json`` for the same experiment (base, data, training settings but
    the seeds: an arm's name carries its seed), by name: their evaluation times, kept when this call adds
    another evaluation or another seed."""
    import json

    if not path.is_file():
        return {}
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}

    def unseeded(settings) -> dict:
        return {k: v for k, v in (settings or {}).items() if k != "seed"}

    same = (all(old.get(k) == record.get(k) for k in ("schema", "base", "data"))
            and unseeded(old.get("settings")) == unseeded(record.get("settings")))
    return {a["name"]: a for a in old.get("arms", [])} if same else {}


def seed_deltas(arms: list[dict], baseline: str | None = None, metrics: dict[str, str] | None = None) -> list[dict]:
    """Per evaluation (settings variant), task and pooling: Δ = score − the baseline arm's score of the same
    seed, for every seed, and the spread of Δ across seeds (:func:`lmkbench.stats.seeds.spread_of`: mean,
    sample sd, min, max, ``within_noise``, the tilt ``n_le_0`` / ``n_ge_0``); the training noise a Δ has to clear.

    The scores are each task's main metric over the whole set (``metrics``: task → its name, as the ``summary``
    rows record it), and each Δ names it (``metric``; None where not given). ``lmkbench compare`` tests a per-item
    score instead, the same one except where the main metric exists only for the whole set (clustering:
    ``v_measure`` here, ``correct_rate`` there), so read a Δ with the metric it names."""
    from ..stats.seeds import spread_of

    pools = list(dict.fromkeys(a["pooling"] for a in arms))
    base = baseline or ("mean" if "mean" in pools else pools[0])
    if base not in pools:
        raise LmkbenchError(f"baseline {base!r} is not an arm's pooling ({', '.join(pools)})")
    seeds = list(dict.fromkeys(a["seed"] for a in arms))
    evals = list(dict.fromkeys(e for a in arms for e in a.get("evaluations", {})))
    out = []
    for evaluation in evals:
        by = {(a["pooling"], a["seed"]): a.get("evaluations", {}).get(evaluation, {}) for a in arms}
        tasks = dict.fromkeys(t for scores in by.values() for t in scores)
        for task, pool in ((t, p) for t in tasks for p in pools if p != base):
            per = {str(s): by[(pool, s)][task] - by[(base, s)][task] for s in seeds
                   if task in by.get((pool, s), {}) and task in by.get((base, s), {})}
            vals = list(per.values())
            if not vals:
                continue
            out.append({"evaluation": evaluation, "task": task, "metric": (metrics or {}).get(task), "pooling": pool,
                        "baseline": base, "per_seed": per, **spread_of(vals), "n_seeds": len(vals),
                        "sign_consistent": all(v > 0 for v in vals) or all(v < 0 for v in vals)})
    return out


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


def arm_results(out_dir: Path, record: dict) -> Iterator[tuple[dict, ResultRecord, bool]]:
    """``(arm, rec, current)`` for every result in ``DIR/results`` of an arm with its own pooling; ``current`` is
    False when the result was produced by another model than the arm's checkpoint as it is now (its
    ``meta.model_identity`` differs: the arm was retrained since), so no view or summary reports it."""
    from ..models import model_identity

    arms = {a["name"]: a for a in record["arms"]}
    identity: dict[str, str] = {}
    for rec in iter_results(safe_child(out_dir, record["results_dir"])):
        checkpoint, _ = split_label(rec.model)
        arm = arms.get(checkpoint)
        if arm is None or rec.pooling != arm["pooling"]:
            continue
        if checkpoint not in identity:
            folder = (out_dir / arm["checkpoint"]).resolve()
            identity[checkpoint] = model_identity(str(folder), str(folder))
        yield arm, rec, rec.meta.model_identity in (None, identity[checkpoint])


def write_matched_view(out_dir: Path, record: dict, log=print) -> list[dict]:
    """Copy each arm's results (its own pooling only) into ``results_matched``, one model label per seed, and
    return one summary row per copied result: arm, seed, task, pooling, evaluation (the settings variant of the
    label: ``512``, ``pi-4096``, ``as-trained``), metric and score. A result of an earlier checkpoint of the arm
    is left out (said in the log), and its earlier copy removed."""
    from ..results import Cell

    labels = record.get("matched_labels") or {}
    target = safe_child(out_dir, record["matched_results_dir"])
    out = []
    for arm, rec, current in arm_results(out_dir, record):
        variant = split_label(rec.model)[1]             # evaluation settings stay in the label
        label = label_for_variant(labels.get(str(arm.get("seed")), record["matched_label"]), variant)
        if not current:
            log(f"{rec.where}: left out, produced by an earlier {arm['name']} (run this evaluation again)")
            stale = Cell(rec.task, label, rec.pooling).path(target)
            for path in (stale, stale.with_suffix(".trec")):
                path.unlink(missing_ok=True)
            continue
        run = read_trec_run(rec.trec_path) if rec.trec_path.exists() else None
        meta = rec.meta.updated(matched_checkpoint=arm["name"], matched_train_pooling=arm["train_pooling"],
                                matched_seed=arm.get("seed"))
        dataclasses.replace(rec, model=label, meta=meta, path=None).write(target, run)
        out.append({"arm": arm["name"], "seed": arm["seed"], "task": rec.task, "pooling": rec.pooling,
                    "evaluation": variant_name(rec.model), "metric": rec.main_metric,
                    "score": rec.metrics.get(rec.main_metric)})
    return sorted(out, key=lambda r: (r["evaluation"], r["task"], r["seed"], r["pooling"]))


def matched_results(matched_json) -> list[ResultRecord]:
    """The relabelled result records of a matched experiment (what ``compare()`` should be given)."""
    from ..data.files import read_json_file

    path = Path(matched_json)
    rec = read_json_file(path, "matched experiment")
    if not isinstance(rec, dict) or rec.get("schema") != SCHEMA:
        raise LmkbenchError(f"{path}: not a matched experiment (schema != {SCHEMA})")
    return list(iter_results(safe_child(path.parent, rec["matched_results_dir"])))


def _mean(xs):
    return round(sum(xs) / len(xs), 6) if xs else None


__all__ = ["arm_name", "arm_results", "check_overlap", "matched_results", "run_matched", "seed_deltas",
           "write_matched_view"]
