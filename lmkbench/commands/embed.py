"""lmkbench embed: write L2-normalised embeddings of a file of texts."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError, LmkbenchError
from ..io import atomic_write_bytes, read_jsonl, require_str
from ._common import add_encoder_arguments, encoder_kwargs, parse_pooling_arg

NAME = "embed"
ORDER = 20
HELP = "embed texts from a .jsonl ('text' field) or .txt (one per line) file into a .npy array"
DESCRIPTION = """Embed texts with one pooling and write an L2-normalised float32 .npy array in input order.

examples:
  lmkbench embed --model minilm --pooling lmk --input docs.jsonl --output docs.npy
  lmkbench embed --model minilm --pooling mean --input lines.txt --output lines.npy --max-length 256
"""


def add_arguments(p):
    add_encoder_arguments(p, pooling_required=True)
    p.add_argument("--input", required=True, help=".jsonl[.gz] with a 'text' field per line, or .txt with one text per line")
    p.add_argument("--output", required=True, help="output .npy file")
    p.add_argument("--field", default="text", help="jsonl field to embed (default: text)")


def read_texts(path: Path, field: str = "text") -> list[str]:
    if not path.exists():
        raise InputError("input file not found", file=path)
    if path.name.endswith((".jsonl", ".jsonl.gz")):
        return [require_str(obj, field, path=path, line=line) for line, obj in read_jsonl(path)]
    with open(path, encoding="utf-8") as fh:
        return [line.rstrip("\n") for line in fh]


def run(args) -> int:
    from ..encoder import PooledEncoder

    poolings = parse_pooling_arg(args.pooling)
    if len(poolings) != 1:
        raise LmkbenchError(f"embed takes exactly one pooling, got {len(poolings)}: {', '.join(poolings)}")
    out = Path(args.output)
    if out.suffix != ".npy":
        raise LmkbenchError(f"--output must end in .npy: {out}")
    texts = read_texts(Path(args.input), args.field)
    enc = PooledEncoder(args.model, **encoder_kwargs(args))
    res = enc.encode(texts, poolings)
    emb = res.embeddings[poolings[0]]
    import io

    buf = io.BytesIO()
    np.save(buf, emb.astype(np.float32), allow_pickle=False)
    atomic_write_bytes(out, buf.getvalue())
    n_trunc = int(res.truncated[poolings[0]].sum())
    print(f"wrote {emb.shape[0]} × {emb.shape[1] if emb.ndim == 2 else 0} embeddings to {out} "
          f"({n_trunc} text(s) longer than {enc.max_length} tokens, policy {enc.long_policy})")
    return 0
