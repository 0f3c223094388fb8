"""lmkbench train: contrastive fine-tuning of an encoder with one pooling."""
from __future__ import annotations

from pathlib import Path

NAME = "train"
ORDER = 60
HELP = "fine-tune an encoder with one pooling (InfoNCE, in-batch + hard negatives); resumable checkpoints"
DESCRIPTION = """Fine-tune a Hugging Face encoder contrastively with one pooling and save it as a model folder.

The model is trained with the pooling it will be evaluated with (the LMK paper fine-tunes every pooling
separately from the same base). Loss: InfoNCE over in-batch negatives and optional hard negatives,
cosine similarity / --temperature; rows with teacher 'scores' add a KL term. --dtype auto: fp32 on CPU, bf16
autocast and gradient checkpointing on CUDA; --dtype bf16 on a CPU with native bf16 trains under CPU bf16
autocast (refused where the CPU lacks it).

Pooling: cls | mean | lmk[:g=N] | lmk:train_g=32+64+128+256 (a landmark interval drawn per text from the
set during training, seeded; evaluated with the fixed g, default 32, as in the paper's best setting).

Data: beir:PATH[#split] (default split train; one pair per relevant document), a .jsonl file of
{"query", "positive", "negatives": [...], "scores": [...]} rows, hf:NAME[@CONFIG][#SPLIT]
(datasets.load_dataset; needs a network), or unsupervised pairs from any local corpus (a BEIR folder, a
.jsonl of {"text"} rows or a folder of .txt files), offline and seeded:
  crop:PATH[?ratio_min=0.1&ratio_max=0.5&min_words=8&max_words=256&per_doc=1&seed=0&max_docs=N]
      Contriever's independent cropping: two random word spans of one document;
  ict:PATH[?min_sentences=2&min_words=4&context=0&keep=0&per_doc=1&seed=0&max_docs=N]
      inverse cloze: a sentence as the query, its document without it as the positive.

Output: OUT is a normal Hugging Face folder (config, weights, tokenizer) plus lmkbench.json (base,
evaluation pooling, training pooling, data, steps, seed, hyperparameters, loss curve). 'lmkbench run
--model OUT' then evaluates with the trained pooling by default. --save-every N writes resumable
checkpoints under OUT/checkpoints; --resume continues the latest one exactly.

examples:
  lmkbench train --model minilm --pooling lmk:train_g=32+64+128+256 --data beir:../shared/data/scifact#train \\
      --out models/minilm-lmk --steps 200 --batch-size 16 --doc-max-length 256
  lmkbench train --model minilm --pooling mean --data pairs.jsonl --out models/minilm-mean --hard-negatives 3
"""


def add_arguments(p):
    p.add_argument("--model", required=True, help="base model: HF folder, hub name or alias (minilm)")
    p.add_argument("--pooling", required=True, help="training pooling, e.g. cls, mean, lmk, lmk:train_g=32+64+128+256")
    p.add_argument("--data", required=True, help="beir:PATH[#split] | FILE.jsonl | crop:PATH[?…] | ict:PATH[?…] | hf:NAME[@CONFIG][#SPLIT]")
    p.add_argument("--out", required=True, help="output model folder")
    add_training_arguments(p)
    p.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in OUT")
    p.add_argument("--overwrite", action="store_true", help="discard an earlier run in OUT")


def add_training_arguments(p) -> None:
    """Hyper-parameters shared by train and train-matched; bounds from :mod:`lmkbench.train.hyper`, checked
    at parse time (exit 2)."""
    from ..train.hyper import FLAG_DEFAULTS, FLAG_HELP, FLAG_METAVARS, HYPERPARAMETERS, flag_of
    from ..train.hyper import arg_type as t

    for name, param in HYPERPARAMETERS.items():      # one flag per declared hyper-parameter, its default and bounds
        # --seed defaults to None so that train-matched can tell it from --seeds; None means the declared default
        default = None if name == "seed" else param.default
        shown = FLAG_HELP.get(name, param.help)
        p.add_argument(flag_of(name), type=t(name), default=default, metavar=FLAG_METAVARS.get(name),
                       help=f"{shown} (default {FLAG_DEFAULTS.get(name, _show(param.default))})")
    p.add_argument("--device", default="auto", help="auto|cpu|cuda|cuda:N")
    p.add_argument("--dtype", default="auto", choices=("auto", "fp32", "bf16", "fp16"),
                   help="auto = bf16 autocast on CUDA, fp32 on CPU; bf16 on CPU needs AVX-512 BF16 or AMX")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _show(value) -> str:
    return "none" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def config_kwargs(args) -> dict:
    """The :class:`~lmkbench.train.trainer.TrainConfig` keywords the command line gives: every declared
    hyper-parameter (:data:`lmkbench.train.hyper.HYPERPARAMETERS`; ``--seed`` not given is its default), the device,
    the dtype and the progress bar."""
    from ..train.hyper import HYPERPARAMETERS

    values = {name: getattr(args, name) for name in HYPERPARAMETERS}
    if values["seed"] is None:
        values["seed"] = HYPERPARAMETERS["seed"].default
    return dict(values, device=args.device, dtype=args.dtype, progress=not args.quiet)


def run(args) -> int:
    from ..train import TrainConfig, train

    cfg = TrainConfig(model=args.model, pooling=args.pooling, data=args.data, out=Path(args.out),
                      resume=args.resume, overwrite=args.overwrite, **config_kwargs(args))
    res = train(cfg)
    curve = res.loss_curve
    head = sum(curve[:10]) / max(1, len(curve[:10]))
    tail = sum(curve[-10:]) / max(1, len(curve[-10:]))
    print(f"trained {res.train_pooling} for {res.steps} steps in {res.wall_s:.1f} s; "
          f"loss {head:.4f} (first 10) -> {tail:.4f} (last 10)")
    print(f"model in {Path(res.out).resolve()}  (evaluate with: lmkbench run --model {res.out} --task ...; "
          f"default pooling {res.pooling})")
    return 0
