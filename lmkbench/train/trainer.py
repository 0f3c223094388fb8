"""Contrastive fine-tuning of one encoder with one pooling: the loop, its determinism and its resumption.

Determinism is by construction rather than by saved iterator state: the example order of epoch ``e`` is a
permutation drawn from ``(seed, e)`` and the landmark intervals of step ``s`` are drawn from
``(seed, s)``, so the batch at any step is a pure function of the seed and the step. Two runs with the
same seed and data see the same batches in the same order whatever their pooling (the fair comparison of
a matched experiment), and a resumed run needs only the step number, the model, optimizer and
scheduler states and the torch RNG state (dropout) to continue exactly as an uninterrupted run would.

Precision: ``--dtype auto`` is fp32 on CPU and bf16 autocast (fp16 where bf16 is unsupported) with gradient
checkpointing on CUDA; ``--dtype bf16`` on a CPU with native bf16 (AVX-512 BF16 / AMX) trains under CPU bf16
autocast, and is refused where the CPU lacks it (:func:`lmkbench.encoder.resolve_dtype`, the check ``run``
makes). Weights, optimizer state and the loss stay fp32. Gradients are clipped to norm 1; AdamW with linear
warm-up and linear decay.
"""
from __future__ import annotations

import math
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..errors import LmkbenchError
from .data import TrainExample, TrainingData, load_training_data
from .forward import PooledForward
from .hyper import check_config, default_of
from .loss import build_candidates, contrastive_loss
from .spec import TrainPooling, parse_train_pooling
from .state import (META_FILE, list_checkpoints, load_trainer_state, read_meta, rng_state, save_checkpoint,
                    save_model_folder, set_rng_state)

#: the settings that define a training run: a resume must match them exactly
IDENTITY_FIELDS = ("model", "pooling", "data", "steps", "batch_size", "lr", "temperature", "query_max_length",
                   "doc_max_length", "seed", "hard_negatives", "warmup_ratio", "weight_decay", "kl_weight",
                   "max_grad_norm", "max_examples")


@dataclass
class TrainConfig:
    model: str
    pooling: str
    data: str
    out: Path
    # the hyper-parameters: defaults (and bounds, flags, help) declared once in lmkbench.train.hyper
    steps: int = default_of("steps")
    batch_size: int = default_of("batch_size")
    lr: float = default_of("lr")
    temperature: float = default_of("temperature")
    query_max_length: int = default_of("query_max_length")
    doc_max_length: int = default_of("doc_max_length")
    seed: int = default_of("seed")
    hard_negatives: int | None = default_of("hard_negatives")
    warmup_ratio: float = default_of("warmup_ratio")
    weight_decay: float = default_of("weight_decay")
    kl_weight: float = default_of("kl_weight")
    max_grad_norm: float = default_of("max_grad_norm")
    max_examples: int | None = default_of("max_examples")
    save_every: int = default_of("save_every")                 # 0: no intermediate checkpoints
    keep_checkpoints: int = default_of("keep_checkpoints")
    device: str = "auto"
    dtype: str = "auto"
    gradient_checkpointing: bool | None = None   # None: on for CUDA, off on CPU
    resume: bool = False
    overwrite: bool = False
    retrain_changed: bool = False       # a finished run of another recipe in ``out`` is trained again, not refused
    progress: bool = True
    extra_meta: dict = field(default_factory=dict)   # recorded in lmkbench.json (e.g. an allowed overlap)

    def identity(self) -> dict:
        return {k: getattr(self, k) for k in IDENTITY_FIELDS}

    def hyperparameters(self) -> dict:
        d = asdict(self)
        for k in ("model", "pooling", "data", "out", "resume", "overwrite", "progress", "steps", "seed", "extra_meta",
                  "retrain_changed"):
            d.pop(k)
        return d


@dataclass
class TrainResult:
    out: Path
    pooling: str              # evaluation pooling
    train_pooling: str
    steps: int
    loss_curve: list[float]
    wall_s: float
    resumed_from: int | None = None
    skipped: bool = False     # the folder already held this finished run
    meta: dict = field(default_factory=dict)
    model: object = field(default=None, repr=False)   # the trained model in memory (None when skipped)


class BatchPlan:
    """Which examples form the batch at step ``s``, and the landmark intervals each text gets there."""

    def __init__(self, n_examples: int, batch_size: int, seed: int):
        if batch_size < 2:
            raise LmkbenchError("--batch-size must be at least 2 (in-batch negatives)")
        if n_examples < batch_size:
            raise LmkbenchError(f"--batch-size {batch_size} is larger than the {n_examples} training examples")
        self.n, self.b, self.seed = n_examples, batch_size, seed
        self.per_epoch = n_examples // batch_size   # the last incomplete batch of an epoch is dropped
        self._epoch, self._order = -1, None

    def position(self, step: int) -> tuple[int, int]:
        return divmod(step, self.per_epoch)

    def indices(self, step: int) -> list[int]:
        epoch, k = self.position(step)
        if epoch != self._epoch:
            self._epoch, self._order = epoch, np.random.default_rng([self.seed, epoch]).permutation(self.n)
        return self._order[k * self.b:(k + 1) * self.b].tolist()

    def interval_rng(self, step: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, step, 7])


def check_out_folder(cfg: TrainConfig) -> Path:
    """Refuse, before any work, an output folder that is a file, the base model's own folder, or an existing
    folder holding files that are not a training run's (no ``lmkbench.json``, no ``checkpoints/``) unless
    ``overwrite``: a user's files are not written over by accident."""
    import os

    from ..io import check_output_dir

    out = check_output_dir(Path(cfg.out), "--out")
    base = Path(cfg.model)
    if base.exists() and out.exists() and os.path.samefile(base, out):
        raise LmkbenchError(f"--out {out} is the base model's folder ({cfg.model}); write the trained model elsewhere")
    if out.is_dir() and not cfg.overwrite and read_meta(out) is None and not (out / "checkpoints").exists():
        theirs = sorted(p.name for p in out.iterdir())
        if theirs:
            raise LmkbenchError(f"--out {out} already holds files that are not a training run's "
                                f"({', '.join(theirs[:3])}{', ...' if len(theirs) > 3 else ''}); "
                                "choose an empty or new folder, or pass --overwrite to write into it")
    return out


def recipe_of(cfg: TrainConfig, data: TrainingData, dtype: str) -> dict:
    """What a finished or half-finished run must share with ``cfg`` to be reused or resumed: the settings
    (:data:`IDENTITY_FIELDS`), the training data's checksums, the base model's identity (a content hash of a
    local folder; None for a hub name, whose revision cannot be checked offline) and the precision trained in."""
    import os

    from ..models import model_identity, resolve_model_path

    path = resolve_model_path(cfg.model)
    return {"identity": _jsonable(cfg.identity()), "checksums": dict(data.checksums),
            "base_identity": model_identity(cfg.model, path) if os.path.isdir(path) else None, "dtype": dtype}


def recipe_differences(meta: dict, recipe: dict) -> list[str]:
    """What differs between the run ``meta`` (an ``lmkbench.json``) records and ``recipe`` (:func:`recipe_of`),
    one phrase each (``steps 100 -> 200``, ``data checksums``); [] when it is the same recipe."""
    out = []
    saved = meta.get("identity") or {}
    for k in IDENTITY_FIELDS:
        if saved.get(k) != recipe["identity"][k]:
            out.append(f"{k} {saved.get(k)!r} -> {recipe['identity'][k]!r}")
    if (meta.get("data") or {}).get("checksums") != recipe["checksums"]:
        out.append("the training data's content (checksums)")
    if recipe["base_identity"] is not None and meta.get("base_identity") != recipe["base_identity"]:
        out.append(f"the base model's content ({meta.get('base_identity')} -> {recipe['base_identity']})")
    if meta.get("dtype") != recipe["dtype"]:
        out.append(f"dtype {meta.get('dtype')} -> {recipe['dtype']}")
    return out


def _wipe(out: Path) -> None:
    if (out / "checkpoints").exists():
        shutil.rmtree(out / "checkpoints")
    if (out / META_FILE).exists():
        (out / META_FILE).unlink()


def _check_out(cfg: TrainConfig, recipe: dict) -> tuple[dict | None, Path | None]:
    """Decide between fresh start, resume and 'already done'; returns (finished meta, checkpoint to resume).

    A finished run is reused, and a checkpoint resumed, only when its recipe (:func:`recipe_of`) is this one;
    otherwise one error naming what differs (or, with ``retrain_changed``, a fresh start)."""
    out = Path(cfg.out)
    meta = read_meta(out)
    ckpts = list_checkpoints(out)
    if cfg.overwrite:
        _wipe(out)
        return None, None
    if meta is not None and meta.get("complete"):
        diff = recipe_differences(meta, recipe)
        if cfg.resume and not diff:
            return meta, None
        if cfg.resume and cfg.retrain_changed:
            _wipe(out)
            return None, None
        raise LmkbenchError(f"{out} already holds a finished training run; use --overwrite to replace it"
                            + ("" if not cfg.resume else f" (its recipe differs: {'; '.join(diff)})"))
    if ckpts and not cfg.resume:
        raise LmkbenchError(f"{out} holds checkpoints of an unfinished run; use --resume to continue it "
                            "or --overwrite to start again")
    if cfg.resume and ckpts:
        step, path = ckpts[-1]
        diff = recipe_differences(read_meta(path) or {}, recipe)
        if diff and cfg.retrain_changed:
            _wipe(out)
            return None, None
        if diff:
            raise LmkbenchError(f"cannot resume from {path}: settings differ ({'; '.join(diff)}); "
                                "use the same settings and data or --overwrite")
        return None, path
    return None, None


def _jsonable(d: dict) -> dict:
    import json

    return json.loads(json.dumps(d, default=str))


def train(cfg: TrainConfig, *, on_step: Callable[[int, float], None] | None = None, log=print) -> TrainResult:
    """Fine-tune ``cfg.model`` with ``cfg.pooling`` on ``cfg.data``; write the model folder ``cfg.out``.

    ``on_step(step, loss)`` is called after every optimizer step (1-based step); tests use it to interrupt.
    """
    from ..encoder import resolve_device, resolve_dtype
    from ..models import load_model
    from ..provenance import git_state, versions

    check_config(cfg)
    check_out_folder(cfg)
    tp: TrainPooling = parse_train_pooling(cfg.pooling)
    device = resolve_device(cfg.device)
    dtype = resolve_dtype(cfg.dtype, device)
    data: TrainingData = load_training_data(cfg.data, hard_negatives=cfg.hard_negatives, max_examples=cfg.max_examples)
    plan = BatchPlan(len(data.examples), cfg.batch_size, cfg.seed)
    out = Path(cfg.out)
    done_meta, resume_from = _check_out(cfg, recipe_of(cfg, data, dtype))
    if done_meta is not None:
        log(f"{out}: finished run with these settings found; nothing to do")
        return TrainResult(out, done_meta["pooling"], done_meta["train_pooling"], done_meta["steps"],
                           done_meta.get("loss_curve", []), done_meta.get("wall_s", 0.0), skipped=True, meta=done_meta)

    loaded = load_model(str(resume_from) if resume_from else cfg.model, device=device, progress=cfg.progress)
    base_meta = (read_meta(resume_from) or {}) if resume_from else {}
    for name, length in (("--query-max-length", cfg.query_max_length), ("--doc-max-length", cfg.doc_max_length)):
        if length > loaded.max_positions:
            raise LmkbenchError(f"{name} {length} exceeds the model's limit of {loaded.max_positions} positions")
        if length < 4:
            raise LmkbenchError(f"{name} must be at least 4")
    model, tokenizer = loaded.model, loaded.tokenizer
    model.train()
    use_ckpt = cfg.gradient_checkpointing if cfg.gradient_checkpointing is not None else device.startswith("cuda")
    if use_ckpt:  # transformers 5 renamed it; pyproject allows >= 4.45
        kwargs = {"use_reentrant": False}
        if hasattr(model, "activation_checkpointing_enable"):
            model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
    fwd = PooledForward(model, tokenizer, tp.pooling, device=device, dtype=dtype)

    from transformers import get_linear_schedule_with_warmup

    opt = make_optimizer(model, cfg)
    sched = get_linear_schedule_with_warmup(opt, math.ceil(cfg.warmup_ratio * cfg.steps), cfg.steps)
    start, losses, wall_before = 0, [], 0.0
    if resume_from:
        st = load_trainer_state(resume_from)
        opt.load_state_dict(st["optimizer"])
        sched.load_state_dict(st["scheduler"])
        set_rng_state(st["rng"])
        start, losses, wall_before = int(st["step"]), list(st["loss_curve"]), float(st.get("wall_s", 0.0))
        log(f"resuming {out} from step {start} ({resume_from.name})")
    else:
        torch.manual_seed(cfg.seed)
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(cfg.seed)

    base_info = base_meta.get("base_info") or {"base": cfg.model, "base_path": loaded.path,
                                               "base_identity": loaded.identity}

    def meta(step: int, complete: bool, wall: float) -> dict:
        return {"complete": complete, "pooling": tp.eval_spec, "train_pooling": tp.spec,
                "train_g": list(tp.train_g), **base_info, "base_info": base_info, "data": data.describe(),
                "steps": cfg.steps, "step": step, "seed": cfg.seed, "hyperparameters": _jsonable(cfg.hyperparameters()),
                "identity": _jsonable(cfg.identity()), "loss_curve": [round(x, 6) for x in losses],
                "wall_s": round(wall, 2), "device": device, "dtype": dtype,
                "gradient_checkpointing": bool(use_ckpt), "examples_seen": step * cfg.batch_size,
                "epochs": round(step * cfg.batch_size / len(data.examples), 3),
                "versions": versions(), **git_state(), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                **_jsonable(cfg.extra_meta)}

    from tqdm.auto import tqdm

    bar = tqdm(total=cfg.steps, initial=start, desc=f"train {tp.spec}", unit="step", disable=not cfg.progress)
    t0 = time.perf_counter()
    for step in range(start, cfg.steps):
        loss, parts = train_step(fwd, tp, cfg, plan, step, data.examples, opt, sched)
        losses.append(loss)
        bar.set_postfix(loss=f"{losses[-1]:.4f}", **{k: f"{v:.3f}" for k, v in parts.items() if k != "infonce"},
                        refresh=False)
        bar.update(1)
        done = step + 1
        if cfg.save_every and done % cfg.save_every == 0 and done < cfg.steps:
            wall = wall_before + time.perf_counter() - t0
            state = {"optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "rng": rng_state(),
                     "step": done, "epoch_position": list(plan.position(done)), "loss_curve": losses, "wall_s": wall}
            save_checkpoint(out, done, model, tokenizer, meta(done, False, wall), state, cfg.keep_checkpoints)
        if on_step is not None:
            on_step(done, losses[-1])
    bar.close()
    wall = wall_before + time.perf_counter() - t0
    model.eval()
    final = meta(cfg.steps, True, wall)
    save_model_folder(out, model, tokenizer, final)
    return TrainResult(out, tp.eval_spec, tp.spec, cfg.steps, losses, wall,
                       resumed_from=start if resume_from else None, meta=final, model=model)


def _no_decay(name: str) -> bool:
    return name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name or "norm.weight" in name


def make_optimizer(model, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW, no weight decay on biases and norms; the fused kernel where torch has it for the device (one
    multi-tensor kernel instead of a Python loop over ~100 parameters: the CPU step's optimizer share)."""
    decay = [p for n, p in model.named_parameters() if p.requires_grad and not _no_decay(n)]
    no_decay = [p for n, p in model.named_parameters() if p.requires_grad and _no_decay(n)]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    try:
        return torch.optim.AdamW(groups, lr=cfg.lr, fused=True)
    except (RuntimeError, TypeError, ValueError):   # a device or dtype without the fused kernel
        return torch.optim.AdamW(groups, lr=cfg.lr)


class PhaseTimer:
    """Seconds per phase of a training step, summed over the steps it times (the profile of one step)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] = self.seconds.get(phase, 0.0) + now - self._t
        self._t = now

    def restart(self) -> None:
        self._t = time.perf_counter()


def train_step(fwd: PooledForward, tp: TrainPooling, cfg: TrainConfig, plan: BatchPlan, step: int,
               examples: list[TrainExample], opt, sched, timer: PhaseTimer | None = None) -> tuple[float, dict]:
    """One optimizer step at ``step``: batch, forward, loss, backward, clipping, AdamW and schedule.

    ``timer`` (optional) records data building, tokenisation, forward (model and pooling), loss, backward,
    clipping and the optimizer separately (``PooledForward.timer`` splits the embedding calls)."""
    lap = timer.lap if timer is not None else (lambda _phase: None)
    fwd.timer = timer
    if timer is not None:
        timer.restart()
    batch = [examples[i] for i in plan.indices(step)]
    cand = build_candidates(batch)
    rng = plan.interval_rng(step)
    q_fams, _ = tp.train_families(len(batch), rng)
    d_fams, _ = tp.train_families(len(cand.texts), rng)
    lap("data")
    with fwd.precision():   # one region: the weights are cast to bf16 once for queries and documents
        q = fwd.embed([ex.query for ex in batch], q_fams, cfg.query_max_length)
        d = fwd.embed(cand.texts, d_fams, cfg.doc_max_length)
    loss, parts = contrastive_loss(q, d, cand, batch, temperature=cfg.temperature, kl_weight=cfg.kl_weight)
    lap("loss")
    loss.backward()
    lap("backward")
    if cfg.max_grad_norm:
        torch.nn.utils.clip_grad_norm_(fwd.model.parameters(), cfg.max_grad_norm)
    lap("clip")
    opt.step()
    sched.step()
    opt.zero_grad(set_to_none=True)
    lap("optimizer")
    fwd.timer = None
    return float(loss.detach()), parts
