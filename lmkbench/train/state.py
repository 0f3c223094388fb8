"""Checkpoints: a normal Hugging Face model folder plus ``lmkbench.json`` and, for resuming, the trainer state.

Layout of a training output folder ``OUT``::

    OUT/config.json, model.safetensors, tokenizer files   # the final model (save_pretrained)
    OUT/lmkbench.json                                      # what was trained (written last: "complete": true)
    OUT/checkpoints/step-000050/                           # intermediate checkpoints, same layout, plus
        trainer_state.pt                                   # optimizer, scheduler, RNG states, step, loss curve

``lmkbench.json`` key ``pooling`` is the canonical *evaluation* pooling: :func:`lmkbench.models.load_model`
reads it, ``lmkbench run`` defaults to it and flags ``pooling_mismatch`` when asked for another.
Every checkpoint is written into a temporary folder and renamed into place, so a crash never leaves a
half-written checkpoint that a resume would pick up.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import torch

from ..errors import LmkbenchError
from ..io import atomic_write_json

META_FILE = "lmkbench.json"
STATE_FILE = "trainer_state.pt"
SCHEMA = "lmkbench.trained/1"
_STEP_DIR = re.compile(r"^step-(\d+)$")


def checkpoints_dir(out: Path) -> Path:
    return Path(out) / "checkpoints"


def list_checkpoints(out: Path) -> list[tuple[int, Path]]:
    """Finished checkpoints (with a trainer state), oldest first."""
    root = checkpoints_dir(out)
    if not root.is_dir():
        return []
    found = []
    for p in root.iterdir():
        m = _STEP_DIR.match(p.name)
        if m and p.is_dir() and (p / STATE_FILE).exists() and (p / META_FILE).exists():
            found.append((int(m.group(1)), p))
    return sorted(found)


def read_meta(folder: Path) -> dict | None:
    path = Path(folder) / META_FILE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        raise LmkbenchError(f"{path}: malformed {META_FILE}") from None


def save_model_folder(folder: Path, model, tokenizer, meta: dict) -> None:
    """save_pretrained model + tokenizer, then lmkbench.json (atomically, last)."""
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    atomic_write_json(folder / META_FILE, {"schema": SCHEMA, **meta})


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(out: Path, step: int, model, tokenizer, meta: dict, trainer_state: dict, keep: int) -> Path:
    root = checkpoints_dir(out)
    final = root / f"step-{step:06d}"
    tmp = root / f".step-{step:06d}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    save_model_folder(tmp, model, tokenizer, meta)
    torch.save(trainer_state, tmp / STATE_FILE)
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    if keep > 0:
        for _step, old in list_checkpoints(out)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    return final


def load_trainer_state(folder: Path) -> dict:
    return torch.load(Path(folder) / STATE_FILE, map_location="cpu", weights_only=True)
