"""lmkbench embed: write L2-normalised embeddings of a file of texts, one array per pooling, with their ids."""
from __future__ import annotations

import io
from pathlib import Path

from ..errors import InputError, LmkbenchError
from ..io import atomic_write_bytes, atomic_write_text, require_str
from ._common import add_encoder_arguments, encoder_settings, parse_pooling_arg

NAME = "embed"
ORDER = 20
HELP = "embed texts from a .jsonl or .txt file into one .npy array per pooling, plus an ids file"
DESCRIPTION = """\
Embed texts with one or more poolings (one forward pass shared by all) and write, in input order:

  OUT.npy                 float32 [n, dim], L2-normalised (one pooling), or
  OUT.<pooling>.npy       one array per pooling when --pooling names several (e.g. docs.lmk_g=32.npy)
  OUT.ids.txt             the row ids, one per line: jsonl '_id' (or 'id'), else the line number; an id
                          must be a non-empty string or integer without a line break (which would put
                          the ids file out of step with the rows)

A .jsonl[.gz] row gives --field (default text); a BEIR corpus row's 'title' is prepended as `lmkbench run`
does ("title text"; --no-title to skip it). A .txt file gives one text per line.
Default pooling: the checkpoint's trained pooling (lmkbench.json or sentence-transformers' Pooling module),
else cls,mean,lmk.

examples:
  lmkbench embed --model minilm --pooling lmk --input docs.jsonl --output docs.npy
  lmkbench embed --model minilm --pooling cls,mean,lmk --input corpus.jsonl --output corpus.npy --max-length 256
"""


def add_arguments(p):
    add_encoder_arguments(p)
    p.add_argument("--input", required=True, help=".jsonl[.gz] with a text field per line, or .txt with one text per line")
    p.add_argument("--output", required=True, help="output .npy file (several poolings: OUT.<pooling>.npy)")
    p.add_argument("--field", default="text", help="jsonl field to embed (default: text)")
    p.add_argument("--no-title", action="store_true", help="jsonl: do not prepend a row's 'title' field")


def read_rows(path: Path, field: str = "text", title: bool = True) -> tuple[list[str], list[str]]:
    """``(ids, texts)`` of a .jsonl[.gz] or .txt file, joining a BEIR title as ``lmkbench run`` does.

    Every problem is one :class:`InputError` naming file and line: not a regular file, bytes that are not UTF-8,
    a lone surrogate, an id that is empty, not a string/integer, repeated or holds a line break."""
    from ..data.files import jsonl_rows, text_lines
    from ..data.types import join_title

    ids, texts = [], []
    seen: dict[str, int] = {}
    if path.name.endswith((".jsonl", ".jsonl.gz")):
        for line, obj in jsonl_rows(path, "input file"):
            text = require_str(obj, field, path=path, line=line)
            if title and "title" in obj:
                text = join_title(require_str(obj, "title", path=path, line=line), text)
            key = "_id" if "_id" in obj else "id" if "id" in obj else None
            row_id = _row_id(obj[key], path, line, key) if key else str(line)
            if row_id in seen:
                raise InputError(f"duplicate id {row_id!r} (first on line {seen[row_id]})", file=path, line=line,
                                 field=key)
            seen[row_id] = line
            ids.append(row_id)
            texts.append(text)
    else:
        for line, text in text_lines(path, "input file"):
            ids.append(str(line))
            texts.append(text[:-2] if text.endswith("\r\n") else text.rstrip("\n"))
    return ids, texts


def _row_id(value, path: Path, line: int, key: str) -> str:
    """An id for the ids file: one line of it, so no line break of any kind (``str.splitlines`` splits on
    \\r, \\v, \\x85, \\u2028... too), and not empty (a blank line reads as a missing id)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InputError(f"expected a string or integer id, got {type(value).__name__}", file=path, line=line,
                         field=key)
    value = str(value)
    if not value:
        raise InputError("empty id", file=path, line=line, field=key)
    if value.splitlines() != [value]:
        raise InputError(f"id {value!r} holds a line break (the ids file has one id per line)", file=path,
                         line=line, field=key)
    return value


def output_paths(out: Path, poolings: list[str]) -> dict[str, Path]:
    from ..specs import slug

    if len(poolings) == 1:
        return {poolings[0]: out}
    return {p: out.with_name(f"{out.stem}.{slug(p)}.npy") for p in poolings}


def derived_paths(out: Path, poolings: list[str]) -> list[Path]:
    """Every file ``embed`` may write for ``--output out``: one array per pooling, its row owners (a
    multi-vector strategy) and the ids file."""
    arrays = list(output_paths(out, poolings).values())
    return arrays + [p.with_name(f"{p.stem}.owner.npy") for p in arrays] + [out.with_name(f"{out.stem}.ids.txt")]


def run(args) -> int:
    import numpy as np

    from ..bm25 import is_lexical
    from ..encoder import PooledEncoder
    from ..io import check_output_path

    out = Path(args.output)
    if out.suffix != ".npy":
        raise LmkbenchError(f"--output must end in .npy: {out}")
    if is_lexical(args.model):
        raise LmkbenchError(f"--model {args.model}: BM25 is a lexical index and has no vectors to embed; "
                            "use it with 'lmkbench run --model bm25'")
    from ..runner import default_poolings

    requested = parse_pooling_arg(args.pooling)
    early = derived_paths(out, requested) if requested else [out, out.with_name(f"{out.stem}.ids.txt")]
    for path in early:   # before any work: no output may replace the input (e.ids.txt as --input of e.npy)
        check_output_path(path, "--output", inputs=[args.input])
    ids, texts = read_rows(Path(args.input), args.field, title=not args.no_title)
    enc = PooledEncoder(args.model, encoder_settings(args), progress=not args.quiet)
    poolings = requested or default_poolings(enc.loaded.trained_pooling)
    for path in derived_paths(out, poolings):   # the default poolings name their files only now
        check_output_path(path, "--output", inputs=[args.input])
    res = enc.encode(texts, poolings)
    for pooling, path in output_paths(out, poolings).items():
        emb = res.embeddings[pooling]
        buf = io.BytesIO()
        np.save(buf, emb.astype(np.float32), allow_pickle=False)
        atomic_write_bytes(path, buf.getvalue())
        n_trunc = int(res.truncated[pooling].sum())
        n_split = int(res.split[pooling].sum()) if pooling in res.split else 0
        longer = (f"{n_trunc} text(s) longer than {enc.max_length} tokens cut" if not n_split else
                  f"{n_split} text(s) longer than {enc.max_length} tokens split into windows (nothing cut)"
                  + (f", {n_trunc} cut" if n_trunc else ""))
        print(f"{pooling}: wrote {emb.shape[0]} × {emb.shape[1] if emb.ndim == 2 else 0} embeddings to {path} "
              f"({longer}; policy {enc.long_policy})")
        owner = res.owners.get(pooling)
        if owner is not None:  # several rows per text (MaxP): row i belongs to text owner[i] (a line of the ids file)
            owner_path = path.with_name(f"{path.stem}.owner.npy")
            buf = io.BytesIO()
            np.save(buf, np.asarray(owner, np.int64), allow_pickle=False)
            atomic_write_bytes(owner_path, buf.getvalue())
            print(f"{pooling}: {len(owner)} rows for {len(ids)} texts; row owners (0-based text index) in {owner_path}")
    ids_path = out.with_name(f"{out.stem}.ids.txt")
    atomic_write_text(ids_path, "".join(f"{i}\n" for i in ids))
    print(f"ids: {ids_path}")
    return 0
