"""lmkbench pretrain: masked-language-model pretraining of a small ModernBERT from random initialisation."""
from __future__ import annotations

from dataclasses import fields

from ._common import positive_int

NAME = "pretrain"
ORDER = 58
HELP = "pretrain a small ModernBERT (RoPE, local/global attention) by MLM from scratch; resumable"
DESCRIPTION = """Pretrain a small encoder of transformers' ModernBERT architecture from random initialisation by
masked-language modelling (ModernBertForMaskedLM, DataCollatorForLanguageModeling, Trainer) on a local
.jsonl[.gz] of {"_id", "text"} documents, e.g. ../shared/data/pretrain_text/docs.jsonl.gz. Whole novels (the
_id before its last '/') are held out for the MLM accuracy. Running the same command again resumes from the
last checkpoint; OUT/NAME (--name) is then the encoder folder that `train-matched --model` takes (trained for no
pooling), OUT/pretrain.json the record (token budget, wall time, loss curve, held-out accuracy).

--dtype auto: bf16 on CUDA and on CPUs with AMX tiles, fp32 elsewhere (bf16 is slower without AMX).

example:
  lmkbench pretrain --data ../shared/data/pretrain_text/docs.jsonl.gz --out ../miniature/base --steps 1500
"""

_INTS = ("layers", "hidden", "heads", "intermediate", "local_window", "global_every", "max_positions", "seq_len",
         "batch_size", "steps", "warmup", "heldout_every", "heldout_blocks", "eval_every", "save_every",
         "log_every")


def add_arguments(p):
    from ..train.pretrain import PretrainConfig
    defaults = {f.name: f.default for f in fields(PretrainConfig) if f.name not in ("data", "out", "extra")}
    p.add_argument("--data", required=True, help=".jsonl[.gz] of {_id, text} documents")
    p.add_argument("--out", required=True, help="pretraining folder (resumed when it exists)")
    p.add_argument("--check-overlap", action="append", default=[], metavar="TASK",
                   help="instead of training: check the text against TASK's documents by 13-word passages "
                        "(repeatable; writes OUT/overlap.json)")
    for name, default in defaults.items():
        flag = "--" + name.replace("_", "-")
        if name in _INTS:
            p.add_argument(flag, type=positive_int, default=default, metavar="N", help=f"default {default}")
        elif name == "seed":
            p.add_argument(flag, type=int, default=default, help=f"default {default}")
        elif name in ("dtype",):
            p.add_argument(flag, choices=("auto", "fp32", "bf16"), default=default, help=f"default {default}")
        elif isinstance(default, float):
            p.add_argument(flag, type=float, default=default, metavar="X", help=f"default {default}")
        else:
            p.add_argument(flag, default=default, help=f"default {default}")


def run(args) -> int:
    from pathlib import Path

    from ..errors import LmkbenchError
    from ..train.pretrain import PretrainConfig, pretrain, summary_line
    if not Path(args.data).is_file():
        raise LmkbenchError(f"--data {args.data}: no such file")
    if not 0 < args.mlm_probability < 1:
        raise LmkbenchError(f"--mlm-probability {args.mlm_probability}: must lie in (0, 1)")
    cfg = PretrainConfig(**{f.name: getattr(args, f.name) for f in fields(PretrainConfig) if f.name != "extra"})
    if args.check_overlap:
        from ..train.pretrain import check_overlap
        Path(cfg.out).mkdir(parents=True, exist_ok=True)
        found = check_overlap(cfg, args.check_overlap)
        print(f"wrote {Path(cfg.out) / 'overlap.json'}: {found['shared']} evaluation documents share a passage")
        return 0
    record = pretrain(cfg)
    print(summary_line(record))
    print(f"wrote {Path(cfg.out) / cfg.name} and {Path(cfg.out) / 'pretrain.json'}")
    return 0
