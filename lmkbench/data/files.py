"""Opening the files a data set (or an ``embed`` input, or a results folder) names, with one clear error for
whatever is in the way: a folder, a FIFO or device (which would block the reader), an unreadable file, a BOM,
or a JSON row whose ``"\\ud800"`` escapes decode to lone surrogates (valid JSON, but no longer encodable as
UTF-8, so tokenizers and hashing fail far from the file).
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

from ..errors import InputError
from ..io import DuplicateKey, parse_json_line, read_lines, regular_file, unique_keys

BOM = "\ufeff"
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")      # how a lone surrogate gets into a JSON line
_SURROGATE = re.compile("[\ud800-\udfff]")


def text_lines(path, what: str = "file") -> Iterator[tuple[int, str]]:
    """``(line_number, line)`` of a regular text file (``.gz`` too) with a leading BOM removed; bad bytes are
    file:line errors (:func:`lmkbench.io.read_lines`)."""
    for lineno, line in read_lines(path, what):
        yield lineno, (line[1:] if lineno == 1 and line.startswith(BOM) else line)


def parse_row(line: str, path, lineno: int) -> dict:
    """One JSON-lines row as an object (a leading BOM ignored); a string holding a lone surrogate is an
    :class:`InputError` naming file, line and field."""
    obj = parse_json_line(line[1:] if line.startswith(BOM) else line, path, lineno)
    if _SURROGATE_ESCAPE.search(line):
        where = lone_surrogate(obj)
        if where is not None:
            raise InputError("holds a lone UTF-16 surrogate (a JSON \\uD800-\\uDFFF escape without its pair), "
                             "which is not text", file=path, line=lineno, field=where)
    return obj


def jsonl_rows(path, what: str = "file") -> Iterator[tuple[int, dict]]:
    """``(line_number, object)`` of a regular ``.jsonl[.gz]`` file, blank lines skipped, checked by
    :func:`parse_row`."""
    for lineno, line in text_lines(path, what):
        if line.strip():
            yield lineno, parse_row(line, path, lineno)


def lone_surrogate(obj: Any, where: str = "") -> str | None:
    """The field path (``text``, ``meta.title``, ``tags[2]``) of the first string or key holding a lone
    surrogate, or None."""
    if isinstance(obj, str):
        return (where or "<value>") if _SURROGATE.search(obj) else None
    if isinstance(obj, dict):
        for k, v in obj.items():
            here = f"{where}.{k}" if where else str(k)
            if _SURROGATE.search(str(k)):
                return here
            found = lone_surrogate(v, here)
            if found is not None:
                return found
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found = lone_surrogate(v, f"{where}[{i}]")
            if found is not None:
                return found
    return None


def read_json_file(path, what: str = "file") -> Any:
    """One JSON document from a regular file, in any encoding RFC 8259 readers detect (UTF-8 with or without a
    BOM, UTF-16, UTF-32: ``json.loads`` of the bytes); empty, garbled, undecodable or too deeply nested
    content, or a key given twice in one object, is one :class:`InputError` naming the file (and the key)."""
    path = regular_file(path, what)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the {what} ({exc.strerror or exc})", file=path) from None
    if not raw.strip():
        raise InputError(f"empty file ({len(raw)} bytes), not JSON", file=path)
    try:
        return json.loads(raw, object_pairs_hook=unique_keys)
    except DuplicateKey as exc:
        raise InputError(f"key {exc.key!r} is given twice in one object (which value counts is not defined)",
                         file=path, field=exc.key) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8, UTF-16 or UTF-32 text ({exc.reason})", file=path) from None
    except json.JSONDecodeError as exc:   # some messages end in "at" already ("Unterminated string starting at")
        at = "" if exc.msg.endswith(" at") else " at"
        raise InputError(f"malformed JSON ({exc.msg}{at} column {exc.colno})", file=path, line=exc.lineno) from None
    except RecursionError:
        raise InputError("JSON nested too deeply to read", file=path) from None
