"""Masked-language-model pretraining of a small RoPE encoder from random initialisation (issue 30).

The paper's setting starts from a checkpoint trained for *no* pooling (ModernBERT, an MLM). None ships offline,
so this builds one in miniature with transformers' own pieces: a :class:`~transformers.ModernBertConfig`
encoder (RoPE, alternating local/global attention), :class:`~transformers.ModernBertForMaskedLM`, the
library's :class:`~transformers.DataCollatorForLanguageModeling` and its :class:`~transformers.Trainer` (the
training loop, checkpoints and exact resume are the library's; this module adds the data, the held-out
accuracy and the record).

Layout of ``OUT``::

    OUT/data/train.u16, heldout.u16, data.json     # token blocks (uint16), written once, atomically, verified
    OUT/checkpoints/checkpoint-N/                  # Trainer checkpoints (resume: run the command again)
    OUT/log.jsonl                                  # one row per logging step: loss, tokens, wall, load
    OUT/NAME/                                      # the final encoder folder (config, weights, tokenizer,
                                                   # lmkbench.json) that `train-matched --model` takes
    OUT/mlm/                                       # the same with the MLM prediction head
    OUT/pretrain.json                              # the record: size, budget, wall, curve, held-out accuracy

Data: a ``.jsonl[.gz]`` of ``{"_id", "text"}`` documents (``../shared/data/pretrain_text/docs.jsonl.gz``: one
chapter a line, ``_id`` ``eltec-eng/<novel>/<nnn>``). Documents are tokenized without special tokens, joined
with ``[SEP]`` and cut into blocks of ``seq_len - 2`` tokens; each block is read as ``[CLS] block [SEP]``. Whole
novels (the part of ``_id`` before the last ``/``) are held out by a hash, so no held-out sentence was seen.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import LmkbenchError
from ..io import atomic_write_json, open_text, sha256_file

SCHEMA = "lmkbench.pretrain/1"


@dataclass
class PretrainConfig:
    data: str
    out: str
    tokenizer: str = "minilm"
    layers: int = 4
    hidden: int = 256
    heads: int = 4
    intermediate: int = 384
    local_window: int = 128
    global_every: int = 3
    max_positions: int = 8192
    seq_len: int = 512
    batch_size: int = 8
    steps: int = 1500
    lr: float = 1e-3
    warmup: int = 100
    weight_decay: float = 0.01
    mlm_probability: float = 0.3
    heldout_every: int = 32          # a novel is held out where hash(novel) % heldout_every == 0
    heldout_blocks: int = 48         # held-out blocks scored for MLM accuracy
    eval_every: int = 100
    save_every: int = 100
    log_every: int = 10
    seed: int = 0
    dtype: str = "auto"              # auto: bf16 where the CPU has AMX (or on CUDA), else fp32
    device: str = "auto"
    name: str = "modernbert-mini"    # the encoder folder OUT/NAME (its name is the model's label in results)
    extra: dict = field(default_factory=dict)

    @property
    def tokens_per_step(self) -> int:
        return self.batch_size * self.seq_len


# -- data ------------------------------------------------------------------------------------------------------
def _novel(doc_id: str) -> str:
    return doc_id.rsplit("/", 1)[0] if "/" in doc_id else doc_id


def is_heldout(doc_id: str, every: int) -> bool:
    return int(hashlib.sha256(_novel(doc_id).encode()).hexdigest()[:8], 16) % every == 0


def _documents(path: Path):
    with open_text(path) as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                yield str(row["_id"]), str(row["text"])
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                field_name = exc.args[0] if isinstance(exc, KeyError) else "(JSON)"
                raise LmkbenchError(f"{path}:{line_no}: field {field_name!r}: not a {{'_id', 'text'}} row") from None


def prepare_data(cfg: PretrainConfig, tokenizer) -> dict:
    """Tokenize the corpus once into ``OUT/data/{train,heldout}.u16`` (blocks of ``seq_len - 2`` tokens),
    streaming: documents are read one at a time and blocks appended to temporary files that are renamed into
    place when complete, then recorded with their checksums in ``data.json``. A complete, verified earlier
    preparation is reused; anything else is redone."""
    root = Path(cfg.out) / "data"
    manifest_path = root / "data.json"
    src = Path(cfg.data)
    key = {"data": str(src.resolve()), "data_bytes": src.stat().st_size, "tokenizer": tokenizer.name_or_path,
           "vocab": len(tokenizer), "block": cfg.seq_len - 2, "heldout_every": cfg.heldout_every}
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("key") == key and all(
                (root / p["file"]).exists() and sha256_file(root / p["file"]) == p["sha256"] for p in manifest["parts"].values()):
            return manifest
    if len(tokenizer) > np.iinfo(np.uint16).max:
        raise LmkbenchError(f"tokenizer vocabulary {len(tokenizer)} does not fit uint16 blocks")
    root.mkdir(parents=True, exist_ok=True)
    block = cfg.seq_len - 2
    sep = tokenizer.sep_token_id
    parts = {name: {"file": f"{name}.u16", "blocks": 0, "documents": 0, "novels": set()} for name in ("train", "heldout")}
    handles = {name: open(root / (p["file"] + ".tmp"), "wb") for name, p in parts.items()}
    buffers = {name: [] for name in parts}
    try:
        for doc_id, text in _documents(src):
            name = "heldout" if is_heldout(doc_id, cfg.heldout_every) else "train"
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            buf = buffers[name]
            buf.extend(ids)
            buf.append(sep)
            parts[name]["documents"] += 1
            parts[name]["novels"].add(_novel(doc_id))
            full = len(buf) // block
            if full:
                np.asarray(buf[:full * block], dtype=np.uint16).tofile(handles[name])
                parts[name]["blocks"] += full
                del buf[:full * block]
        for h in handles.values():
            h.flush()
            os.fsync(h.fileno())
    finally:
        for h in handles.values():
            h.close()
    for name, p in parts.items():
        os.replace(root / (p["file"] + ".tmp"), root / p["file"])
        p["sha256"] = sha256_file(root / p["file"])
        p["novels"] = sorted(p["novels"])
        p["tokens"] = p["blocks"] * block
        if p["blocks"] == 0:
            raise LmkbenchError(f"{src}: no {name} block of {block} tokens")
    manifest = {"schema": SCHEMA, "key": key, "parts": parts}
    atomic_write_json(manifest_path, manifest)
    return manifest


class Blocks:
    """``[CLS] block [SEP]`` rows over a uint16 memory map (nothing is held in memory but the map)."""

    def __init__(self, path: Path, block: int, cls_id: int, sep_id: int):
        self.ids = np.memmap(path, dtype=np.uint16, mode="r").reshape(-1, block)
        self.cls, self.sep = cls_id, sep_id

    def __len__(self) -> int:
        return self.ids.shape[0]

    def __getitem__(self, i: int) -> dict:
        row = [self.cls, *self.ids[i].tolist(), self.sep]
        return {"input_ids": row, "attention_mask": [1] * len(row), "block": int(i)}


def masking_collator(tokenizer, mlm_probability: float, seed: int):
    """transformers' MLM collator, its masks drawn from a generator seeded by the batch's block indices: a batch
    is masked the same way whenever it is drawn, so a resumed run masks as the uninterrupted one did (the global
    RNG would depend on what ran before) and the held-out blocks get the same masks at every evaluation."""
    import torch
    from transformers import DataCollatorForLanguageModeling

    class BlockMasking(DataCollatorForLanguageModeling):
        def torch_call(self, examples):
            blocks = [e.pop("block") for e in examples]
            key = hashlib.sha256(f"{seed}:{','.join(map(str, blocks))}".encode()).digest()
            self.generator = torch.Generator().manual_seed(int.from_bytes(key[:8], "little") & (2 ** 63 - 1))
            return super().torch_call(examples)

    return BlockMasking(tokenizer, mlm_probability=mlm_probability)


# -- model -----------------------------------------------------------------------------------------------------
def build_model(cfg: PretrainConfig, tokenizer):
    from transformers import ModernBertConfig, ModernBertForMaskedLM
    mcfg = ModernBertConfig(
        vocab_size=len(tokenizer), hidden_size=cfg.hidden, num_hidden_layers=cfg.layers,
        num_attention_heads=cfg.heads, intermediate_size=cfg.intermediate, max_position_embeddings=cfg.max_positions,
        local_attention=cfg.local_window, global_attn_every_n_layers=cfg.global_every,
        pad_token_id=tokenizer.pad_token_id, cls_token_id=tokenizer.cls_token_id, sep_token_id=tokenizer.sep_token_id,
        bos_token_id=tokenizer.cls_token_id, eos_token_id=tokenizer.sep_token_id, sparse_prediction=True)
    return ModernBertForMaskedLM(mcfg)


def resolve_dtype(cfg: PretrainConfig, device: str) -> tuple[str, str]:
    """(dtype, why): the faster dtype here unless one is forced. bf16 pays on CPU only with AMX tiles."""
    if cfg.dtype in ("fp32", "bf16"):
        return cfg.dtype, "forced (--dtype)"
    if device.startswith("cuda"):
        return "bf16", "CUDA"
    from ..devices import cpu_bf16_check
    check = cpu_bf16_check()
    if check["amx"]:
        return "bf16", f"{check['cpu']}: AMX tiles"
    return "fp32", f"{check['cpu']}: no AMX (bf16 is slower on such CPUs, docs/manual/benchmarks.md)"


# -- held-out accuracy -----------------------------------------------------------------------------------------
def heldout_accuracy(model, blocks: Blocks, collator, n: int, batch: int = 8) -> dict:
    """MLM accuracy on the first ``n`` held-out blocks (masked by :func:`masking_collator`: the same masks every
    time), and the unigram reference: the share of masked positions whose label is the single most frequent one."""
    import torch
    correct = total = 0
    counts: dict[int, int] = {}
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, min(n, len(blocks)), batch):
                rows = [blocks[i] for i in range(start, min(start + batch, n, len(blocks)))]
                b = collator(rows)
                dev = next(model.parameters()).device
                out = model(input_ids=b["input_ids"].to(dev), attention_mask=b["attention_mask"].to(dev))
                labels = b["labels"].to(dev)
                masked = labels[labels != -100]
                logits = out.logits if out.logits.dim() == 2 else out.logits[labels != -100]
                correct += int((logits.argmax(-1) == masked).sum())
                total += int(masked.numel())
                for t, c in zip(*np.unique(masked.cpu().numpy(), return_counts=True)):
                    counts[int(t)] = counts.get(int(t), 0) + int(c)
    finally:
        model.train(was_training)
    top = max(counts.values()) if counts else 0
    return {"accuracy": correct / max(total, 1), "masked": total, "unigram_accuracy": top / max(total, 1)}


# -- the run ---------------------------------------------------------------------------------------------------
def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def pretrain(cfg: PretrainConfig, progress=print) -> dict:
    import importlib.util

    import torch
    if importlib.util.find_spec("accelerate") is None:
        raise LmkbenchError("lmkbench pretrain needs accelerate (transformers' Trainer): pip install 'lmkbench[pretrain]'")
    from transformers import Trainer, TrainerCallback, TrainingArguments, set_seed
    from transformers.trainer_utils import get_last_checkpoint

    from transformers import AutoTokenizer

    from ..models import resolve_model_path
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    device = cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    dtype, dtype_why = resolve_dtype(cfg, device)
    record_path = out / "pretrain.json"
    previous = json.loads(record_path.read_text(encoding="utf-8")) if record_path.exists() else None
    settings = {k: v for k, v in asdict(cfg).items() if k not in ("out", "device", "extra", "eval_every",
                                                                  "save_every", "log_every", "name")}
    settings["dtype"] = dtype
    if previous and previous.get("settings") != settings:
        diff = sorted(k for k in set(settings) | set(previous.get("settings", {}))
                      if settings.get(k) != previous["settings"].get(k))
        raise LmkbenchError(f"{out}: pretrained with other settings ({', '.join(diff)}); use another --out")
    atomic_write_json(record_path, {**(previous or {}), "schema": SCHEMA, "settings": settings, "complete": False}
                      if not (previous and previous.get("complete")) else previous)
    if previous and previous.get("complete") and (out / cfg.name / "config.json").exists():
        progress(f"{out}: already complete ({previous['steps_done']} steps)")
        return previous

    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(cfg.tokenizer))
    tokenizer.model_max_length = cfg.max_positions     # the saved folder reads to the position limit
    t0 = time.perf_counter()
    manifest = prepare_data(cfg, tokenizer)
    progress(f"data: {manifest['parts']['train']['tokens']:,} training tokens, "
             f"{manifest['parts']['heldout']['tokens']:,} held out ({len(manifest['parts']['heldout']['novels'])} novels)"
             f" [{time.perf_counter() - t0:.0f} s]")
    block = cfg.seq_len - 2
    data = Path(cfg.out) / "data"
    train = Blocks(data / "train.u16", block, tokenizer.cls_token_id, tokenizer.sep_token_id)
    held = Blocks(data / "heldout.u16", block, tokenizer.cls_token_id, tokenizer.sep_token_id)
    set_seed(cfg.seed)
    model = build_model(cfg, tokenizer)
    collator = masking_collator(tokenizer, cfg.mlm_probability, cfg.seed)
    held_collator = masking_collator(tokenizer, cfg.mlm_probability, cfg.seed + 1)
    n_params = sum(p.numel() for p in model.parameters())
    log_path = out / "log.jsonl"
    started = time.perf_counter()

    class Record(TrainerCallback):
        def __init__(self):
            self.step_wall = started

        def _write(self, row):
            with open(log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
                f.flush()
                os.fsync(f.fileno())

        def on_log(self, args, state, control, logs=None, **kw):
            if logs and "loss" in logs:
                now = time.perf_counter()
                self._write({"step": state.global_step, "loss": logs["loss"], "lr": logs.get("learning_rate"),
                             "tokens": state.global_step * cfg.tokens_per_step, "wall_s": round(now - started, 1),
                             "load": _load()})

        def on_step_end(self, args, state, control, **kw):
            if state.global_step % cfg.eval_every == 0 or state.global_step == state.max_steps:
                acc = heldout_accuracy(kw["model"], held, held_collator, cfg.heldout_blocks)
                self._write({"step": state.global_step, "heldout": acc, "wall_s": round(time.perf_counter() - started, 1),
                             "load": _load()})
                progress(f"step {state.global_step}: held-out MLM accuracy {acc['accuracy']:.4f} "
                         f"(unigram {acc['unigram_accuracy']:.4f}), load {_load()}")

    args = TrainingArguments(
        output_dir=str(out / "checkpoints"), per_device_train_batch_size=cfg.batch_size, max_steps=cfg.steps,
        learning_rate=cfg.lr, warmup_steps=cfg.warmup, weight_decay=cfg.weight_decay, adam_beta2=0.98,
        lr_scheduler_type="linear", logging_steps=cfg.log_every, save_steps=cfg.save_every, save_total_limit=2,
        seed=cfg.seed, data_seed=cfg.seed, bf16=(dtype == "bf16"), use_cpu=(device == "cpu"), report_to=[],
        dataloader_num_workers=0, disable_tqdm=True, remove_unused_columns=False, eval_strategy="no")
    trainer = Trainer(model=model, args=args, train_dataset=train, data_collator=collator, callbacks=[Record()])
    last = get_last_checkpoint(str(out / "checkpoints")) if (out / "checkpoints").is_dir() else None
    if last:
        progress(f"resuming from {last}")
    trainer.train(resume_from_checkpoint=last)
    wall = time.perf_counter() - started
    final = heldout_accuracy(model, held, held_collator, cfg.heldout_blocks)
    save_encoder(out / cfg.name, model, tokenizer, cfg, dtype, manifest)
    rows = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    from ..provenance import git_state, versions
    record = {"schema": SCHEMA, "settings": settings, "dtype_why": dtype_why, "device": device,
              "provenance": {**git_state(), "versions": versions()},
              "parameters": n_params, "steps_done": trainer.state.global_step,
              "tokens_seen": trainer.state.global_step * cfg.tokens_per_step,
              "epochs": trainer.state.global_step * cfg.batch_size / len(train),
              "wall_s_this_session": round(wall, 1), "heldout": final,
              "data": {k: {kk: vv for kk, vv in v.items() if kk != "novels"} | {"novels": len(v["novels"])}
                       for k, v in manifest["parts"].items()},
              "heldout_novels": manifest["parts"]["heldout"]["novels"],
              "curve": rows, "complete": True}
    atomic_write_json(record_path, record)
    return record


def check_overlap(cfg: PretrainConfig, tasks: list[str], progress=print) -> dict:
    """The pretraining text against every evaluation task's documents, by 13-word passages
    (:func:`lmkbench.train.overlap.find_passage_overlap`); written to ``OUT/overlap.json``."""
    from transformers import AutoTokenizer

    from ..models import resolve_model_path
    from ..tasks import resolve_tasks
    from .overlap import find_passage_overlap
    resolved = [t for spec in tasks for t in resolve_tasks(spec)]
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_path(cfg.tokenizer))
    t0 = time.perf_counter()
    found = find_passage_overlap((text for _, text in _documents(Path(cfg.data))), resolved, tokenizer)
    found["seconds"] = round(time.perf_counter() - t0, 1)
    found["data"] = cfg.data
    atomic_write_json(Path(cfg.out) / "overlap.json", found)
    for name, r in found["tasks"].items():
        progress(f"{name}: {r['shared']} of {r['documents_checked']} documents share a passage with the pretraining text"
                 + (f" (e.g. {', '.join(r['shared_ids'])})" if r["shared"] else ""))
    return found


def save_encoder(folder: Path, model, tokenizer, cfg: PretrainConfig, dtype: str, manifest: dict) -> None:
    """The encoder folder: the encoder's weights alone (``ModernBertModel``, what ``AutoModel`` loads), the
    tokenizer and ``lmkbench.json`` saying it was trained for no pooling (``objective: mlm``); the whole MLM
    (encoder and prediction head) beside it in ``mlm/``. Each is written into a temporary folder and renamed."""
    import shutil
    meta = {"schema": "lmkbench.trained/1", "complete": True, "objective": "mlm", "base": "random initialisation",
            "data": cfg.data, "steps": cfg.steps, "seed": cfg.seed, "dtype": dtype,
            "hyperparameters": {k: v for k, v in asdict(cfg).items() if k not in ("data", "out", "extra", "name")},
            "data_sha256": {k: v["sha256"] for k, v in manifest["parts"].items()}}
    for target, net in ((folder, model.model), (folder.with_name("mlm"), model)):
        tmp = target.with_name(target.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        net.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        atomic_write_json(tmp / "lmkbench.json", meta)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)


def summary_line(record: dict) -> str:
    h = record["heldout"]
    return (f"{record['parameters'] / 1e6:.1f}M parameters, {record['steps_done']} steps, "
            f"{record['tokens_seen'] / 1e6:.2f}M tokens ({record['epochs']:.2f} epochs), "
            f"held-out MLM accuracy {h['accuracy']:.4f} (unigram {h['unigram_accuracy']:.4f}, {h['masked']} masked)")


__all__ = ["PretrainConfig", "pretrain", "prepare_data", "build_model", "heldout_accuracy", "summary_line",
           "is_heldout"]
