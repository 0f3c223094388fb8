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
    from ..train.hyper import arg_type as t

    p.add_argument("--steps", type=t("steps"), default=100, help="optimizer steps (default 100)")
    p.add_argument("--batch-size", type=t("batch_size"), default=16, help="queries per batch, >= 2 (default 16)")
    p.add_argument("--lr", type=t("lr"), default=2e-5, help="peak learning rate, > 0 (default 2e-5)")
    p.add_argument("--temperature", type=t("temperature"), default=0.02, help="InfoNCE temperature, > 0 (default 0.02)")
    p.add_argument("--query-max-length", type=t("query_max_length"), default=128, help="tokens per query (default 128)")
    p.add_argument("--doc-max-length", type=t("doc_max_length"), default=512, help="tokens per document (default 512)")
    p.add_argument("--seed", type=t("seed"), default=None,
                   help="seed of data order, interval draws and dropout (default 0)")
    p.add_argument("--hard-negatives", type=t("hard_negatives"), default=None, metavar="N",
                   help="negatives per example: the first N of a row's 'negatives'; for beir: sources, N mined "
                        "with TF-IDF (default: all the data has, none for beir:)")
    p.add_argument("--max-examples", type=t("max_examples"), default=None, help="use only the first N examples")
    p.add_argument("--warmup-ratio", type=t("warmup_ratio"), default=0.1,
                   help="linear warm-up share of the steps, 0..1 (default 0.1)")
    p.add_argument("--weight-decay", type=t("weight_decay"), default=0.01, help="AdamW weight decay, >= 0 (default 0.01)")
    p.add_argument("--kl-weight", type=t("kl_weight"), default=1.0,
                   help="weight of the teacher-score KL term, >= 0 (default 1)")
    p.add_argument("--save-every", type=t("save_every"), default=0, metavar="N",
                   help="checkpoint every N steps (default: only the end)")
    p.add_argument("--keep-checkpoints", type=t("keep_checkpoints"), default=1, metavar="K",
                   help="keep the last K checkpoints (default 1)")
    p.add_argument("--device", default="auto", help="auto|cpu|cuda|cuda:N")
    p.add_argument("--dtype", default="auto", choices=("auto", "fp32", "bf16", "fp16"),
                   help="auto = bf16 autocast on CUDA, fp32 on CPU; bf16 on CPU needs AVX-512 BF16 or AMX")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def config_kwargs(args) -> dict:
    from ..train.hyper import HYPERPARAMETERS

    return dict(steps=args.steps, batch_size=args.batch_size, lr=args.lr, temperature=args.temperature,
                query_max_length=args.query_max_length, doc_max_length=args.doc_max_length,
                seed=HYPERPARAMETERS["seed"].default if args.seed is None else args.seed,
                hard_negatives=args.hard_negatives, max_examples=args.max_examples, warmup_ratio=args.warmup_ratio,
                weight_decay=args.weight_decay, kl_weight=args.kl_weight, save_every=args.save_every,
                keep_checkpoints=args.keep_checkpoints, device=args.device, dtype=args.dtype, progress=not args.quiet)


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
