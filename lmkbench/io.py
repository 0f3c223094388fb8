"""File helpers: atomic writes, output-path checks, safe paths from data, checksums, jsonl and TREC reading."""
from __future__ import annotations

import errno
import gzip
import hashlib
import json
import math
import os
import re
import stat
import tempfile
import zlib
from pathlib import Path
from typing import Any, Iterator

from .errors import InputError, LmkbenchError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class WriteError(LmkbenchError, OSError):
    """A file lmkbench could not write (disk full, a folder in its place, no permission): one clear message
    (the CLI exits 2), and still an :class:`OSError` for callers that fall back (the store keeps shards in
    memory when the disk is full)."""

    def __init__(self, path, exc: OSError):
        super().__init__(exc.errno, exc.strerror)
        self.filename = str(path)
        self.message = f"cannot write {path}: {exc.strerror or exc}"

    def __str__(self) -> str:
        return self.message


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write via a temp file in the same folder and rename, so readers never see half a file.

    The file gets the permissions a plain ``open(path, "w")`` would (0666 less the umask), not mkstemp's 0600.
    A write the system refuses (ENOSPC, a folder at ``path``...) removes the temp file and raises
    :class:`WriteError` naming ``path``.

    What is already at ``path`` is never replaced unless it is a regular file:

    * a symbolic link is followed: its target is written atomically (temp file beside the *target*, renamed onto
      it) and the link stays a link, as ``open(path, "w")`` would leave it; a dangling link creates its target;
    * a character device or a FIFO (``/dev/stdout``, ``/dev/null``, ``/dev/full``, a named pipe) is opened and
      written into, not replaced (a FIFO without a reader is an error rather than a hang); a device that
      refuses the bytes (``/dev/full``: ENOSPC) is one :class:`WriteError`;
    * a block device, a socket or a folder is refused (:class:`WriteError`).
    """
    path = Path(path)
    try:
        if path.is_symlink():
            path = Path(os.path.realpath(path))
        mode = path.stat().st_mode if path.exists() else None
    except OSError as exc:
        raise WriteError(path, exc) from None
    if mode is not None and not stat.S_ISREG(mode):
        if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
            return _write_into(path, data, fifo=stat.S_ISFIFO(mode))
        kind = "a folder" if stat.S_ISDIR(mode) else "a block device" if stat.S_ISBLK(mode) else "a socket"
        raise WriteError(path, OSError(errno.EISDIR if stat.S_ISDIR(mode) else errno.EPERM,
                                       f"it is {kind}, which lmkbench does not replace"))
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        if isinstance(exc, OSError) and not isinstance(exc, WriteError):
            raise WriteError(path, exc) from None
        raise


#: how long a write into a FIFO waits for its reader to open it
FIFO_WAIT_S = 10.0


def _write_into(path: Path, data: bytes, *, fifo: bool) -> None:
    """Write ``data`` into an existing character device or FIFO (no temp file, no rename)."""
    import time

    deadline = time.monotonic() + FIFO_WAIT_S
    while True:
        try:
            # a FIFO opened without a reader blocks for ever; O_NONBLOCK makes that ENXIO (retried until a reader
            # comes or FIFO_WAIT_S pass), then writes block again
            fd = os.open(path, os.O_WRONLY | (os.O_NONBLOCK if fifo else 0))
            break
        except OSError as exc:
            if exc.errno == errno.ENXIO and time.monotonic() < deadline:
                time.sleep(0.05)
                continue
            if exc.errno == errno.ENXIO:
                exc = OSError(exc.errno, f"a FIFO with no reader (waited {FIFO_WAIT_S:g} s)")
            raise WriteError(path, exc) from None
    try:
        if fifo:
            os.set_blocking(fd, True)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError as exc:
        raise WriteError(path, exc) from None
    finally:
        os.close(fd)


def atomic_write_text(path, text: str) -> None:
    """UTF-8 text; a lone surrogate (from a result's query text, a file name...) is written as U+FFFD instead
    of failing the whole write with a UnicodeEncodeError (:func:`safe_text`)."""
    atomic_write_bytes(path, safe_text(text).encode("utf-8"))


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def safe_text(text: str) -> str:
    """``text`` with every lone UTF-16 surrogate (not text, and not encodable as UTF-8) replaced by U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return _LONE_SURROGATE.sub("\ufffd", text)


def atomic_write_json(path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=1, ensure_ascii=False, sort_keys=False, allow_nan=True) + "\n")


def check_output_file(path, what: str = "output") -> Path:
    """``path`` as a file lmkbench may write, checked before any work is done: not a folder, and no file where
    one of its folders should be. ``what`` names the option in the error (``--json``, ``-o``)."""
    path = Path(path)
    if path.is_dir():
        raise LmkbenchError(f"{what} {path} is a folder; give a file name")
    _check_parents(path, what)
    return path


def check_output_dir(path, what: str = "output folder") -> Path:
    """``path`` as a folder lmkbench may write into (created later): not an existing file, nor under one."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise LmkbenchError(f"{what} {path} is not a folder (a file of that name exists)")
    _check_parents(path, what)
    return path


def check_output_path(path, what: str = "output", *, inputs=(), results_dirs=()) -> Path:
    """``path`` as a file this command may write, checked before any work (:func:`check_output_file`), and
    never one of the command's own ``inputs`` (the same file by any name: a link, ``./x``) nor an lmkbench
    result (or its ``.trec`` run) under one of the ``results_dirs`` it reads; else one :class:`LmkbenchError`
    naming the option (the CLI exits 2)."""
    path = check_output_file(path, what)
    for given in inputs:
        if given is not None and _same_file(path, Path(given)):
            raise LmkbenchError(f"{what} {path} is one of this command's inputs ({given}); it would be overwritten")
    for root in results_dirs:
        result = _result_file_at(path, Path(root))
        if result is not None:
            raise LmkbenchError(f"{what} {path} would overwrite the result {result} in the results folder {root} "
                                "that this command reads; write somewhere else")
    return path


def check_output_folder(path, what: str = "output folder", *, inputs=()) -> Path:
    """``path`` as a folder this command may write into (:func:`check_output_dir`), neither one of its
    ``inputs`` (a results folder, a data folder) nor inside one, nor holding one."""
    path = check_output_dir(path, what)
    real = Path(os.path.realpath(path))
    for given in inputs:
        if given is None:
            continue
        other = Path(os.path.realpath(given))
        if real == other or other in real.parents or real in other.parents:
            raise LmkbenchError(f"{what} {path} overlaps this command's input {given}; its files could be "
                                "overwritten: write somewhere else")
    return path


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def _result_file_at(path: Path, root: Path) -> Path | None:
    """The lmkbench result that writing ``path`` would replace (``path`` itself, or the result a ``.trec`` run
    belongs to) when it lies under ``root``; None otherwise."""
    real, real_root = Path(os.path.realpath(path)), Path(os.path.realpath(root))
    if real_root not in real.parents or not real.is_file():
        return None
    candidate = real.with_suffix(".json") if real.suffix == ".trec" else real
    if candidate.suffix != ".json" or not candidate.is_file():
        return None
    try:
        with open(candidate, "rb") as fh:
            head = json.loads(fh.read())
    except (OSError, ValueError, RecursionError):
        return None
    schema = head.get("schema") if isinstance(head, dict) else None
    return candidate if isinstance(schema, str) and schema.startswith("lmkbench.result/") else None


def _check_parents(path: Path, what: str) -> None:
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise LmkbenchError(f"{what} {path}: {parent} is not a folder")
            return


def safe_name(text, empty: str = "_") -> str:
    """One path component from data (a task, model or pooling name): :func:`lmkbench.specs.slug`, and never
    ``.`` or ``..`` (a slug keeps dots)."""
    from .specs import slug

    name = slug(text, empty=empty)
    return name if name.strip(".") else empty


def safe_child(root, *parts) -> Path:
    """``root / part / ...`` with every part from data made one safe component (:func:`safe_name`); the path,
    resolved (symbolic links followed), must lie inside ``root``, else an :class:`LmkbenchError`. Every writer
    that builds a path from data builds it with this."""
    root = Path(root)
    path = root.joinpath(*(safe_name(p) for p in parts))
    real_root = root.resolve()
    real = path.resolve()
    if real != real_root and real_root not in real.parents:
        raise LmkbenchError(f"refusing to write {path}: it resolves to {real}, outside {root}")
    return path


def file_digest(path, new=hashlib.sha256, chunk: int = 1 << 22) -> str:
    """Hex digest of a file read block by block; ``new`` makes the hash object (e.g. a sized BLAKE2b)."""
    h = new()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def sha256_file(path) -> str:
    return file_digest(path)


def open_text(path):
    path = Path(path)
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, "r", encoding="utf-8")


def regular_file(path, what: str = "file") -> Path:
    """``path`` if it is a regular file this process can open; otherwise one :class:`InputError` naming it
    (not found, a directory, a FIFO/socket/device — checked before opening, which would block — or unreadable)."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError(f"{what} not found", file=path) from None
    except OSError as exc:
        raise InputError(f"cannot read the {what} ({exc.strerror or exc})", file=path) from None
    if stat.S_ISDIR(mode):
        raise InputError(f"is a folder, not the {what}", file=path)
    if not stat.S_ISREG(mode):
        raise InputError(f"not a regular file (a FIFO, socket or device), not the {what}", file=path)
    try:
        os.close(os.open(path, os.O_RDONLY))
    except OSError as exc:
        raise InputError(f"cannot read the {what} ({exc.strerror or exc})", file=path) from None
    return path


def read_lines(path, what: str = "file") -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` of a text file (``.gz`` too); anything but a readable regular file
    (:func:`regular_file`: a folder, a FIFO that would block), a truncated or corrupt gzip stream or bytes that
    are not UTF-8 raise :class:`InputError` naming file and line instead of a traceback or a hang.

    Lines are read as bytes and decoded one by one, so a bad byte is reported on its own line (a text-mode
    reader decodes in blocks and fails ahead of the line it is on).
    """
    path = regular_file(path, what)
    lineno = 0
    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as fh:
            for lineno, raw in enumerate(fh, 1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise InputError(f"not valid UTF-8 ({exc.reason} at byte {exc.start})", file=path,
                                     line=lineno) from None
                yield lineno, line
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InputError(f"truncated or corrupt gzip data ({exc})", file=path, line=lineno + 1) from None
    except OSError as exc:   # no permission, an I/O error
        raise InputError(f"cannot read ({exc.strerror or exc})", file=path) from None


def read_jsonl(path) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, object)``; a bad line raises :class:`InputError` naming file and line."""
    for lineno, line in read_lines(path):
        if not line.strip():
            continue
        yield lineno, parse_json_line(line, path, lineno)


def read_trec_run(path) -> dict[str, list[tuple[str, float]]]:
    """A TREC run file (``qid Q0 docid rank score tag``) as ``{qid: [(docid, score), ...]}`` in file order;
    a wrong column count, a score that is not a finite number, a folder or bad bytes in its place raise
    :class:`InputError` naming file, line and field."""
    run: dict[str, list[tuple[str, float]]] = {}
    for lineno, line in read_lines(path):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 6:
            raise InputError(f"expected 6 columns, got {len(parts)}", file=path, line=lineno)
        try:
            score = float(parts[4])
        except ValueError:
            raise InputError(f"not a number: {parts[4][:40]!r}", file=path, line=lineno, field="score") from None
        if not math.isfinite(score):
            raise InputError(f"not a finite number: {parts[4]!r}", file=path, line=lineno, field="score")
        run.setdefault(parts[0], []).append((parts[2], score))
    return run


def parse_json_line(line: str, path, lineno: int) -> dict:
    try:
        obj = json.loads(line)
    except RecursionError:
        raise InputError("JSON nested too deeply", file=path, line=lineno) from None
    except json.JSONDecodeError as exc:  # some messages end in "at" already ("Unterminated string starting at")
        where = "" if exc.msg.endswith(" at") else " at"
        raise InputError(f"malformed JSON ({exc.msg}{where} column {exc.colno})", file=path, line=lineno) from None
    if not isinstance(obj, dict):
        raise InputError(f"expected a JSON object, got {type(obj).__name__}", file=path, line=lineno)
    return obj


class DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(f"duplicate key {key!r}")
        self.key = key


def unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    """``object_pairs_hook`` that refuses a key given twice in one object (``json`` keeps the last silently)."""
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKey(key)
        out[key] = value
    return out


def read_json_document(path, what: str, schema: str) -> dict:
    """One JSON document of lmkbench's (``what``: "result", "baseline"...) whose ``schema`` must be ``schema``;
    a missing file, bad UTF-8, malformed JSON, a key given twice or another schema is one :class:`InputError`
    naming the file."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh, object_pairs_hook=unique_keys)
    except DuplicateKey as exc:
        raise InputError(f"key {exc.key!r} is given twice in one object (which value counts is not defined)",
                         file=path, field=exc.key) from None
    except FileNotFoundError:
        raise InputError(f"{what} file not found", file=path) from None
    except IsADirectoryError:
        raise InputError(f"is a folder, not a {what} file", file=path) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", file=path) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON ({exc.msg})", file=path, line=exc.lineno) from None
    except RecursionError:
        raise InputError("JSON nested too deeply", file=path) from None
    except OSError as exc:   # no permission, an I/O error
        raise InputError(f"cannot read ({exc.strerror or exc})", file=path) from None
    if not isinstance(data, dict) or data.get("schema") != schema:
        raise InputError(f"not an lmkbench {what} (schema != {schema})", file=path, field="schema")
    return data


def require_str(obj: dict, key: str, *, path, line: int, allow_empty: bool = True, coerce: bool = False,
                null_is_empty: bool = False) -> str:
    """Fetch a string field or raise an :class:`InputError` naming file, line and field.

    ``null`` is an error (a null text is more likely a broken export than an empty text; write ``""``), except
    where ``null_is_empty`` says it means "none" (a BEIR ``title``, which many exports leave null).
    """
    if key not in obj:
        raise InputError("missing", file=path, line=line, field=key)
    val = obj[key]
    if val is None:
        if not null_is_empty:
            raise InputError('null (write "" for an empty text)', file=path, line=line, field=key)
        val = ""
    if coerce and isinstance(val, (int, float)) and not isinstance(val, bool):
        val = str(val)
    if not isinstance(val, str):
        raise InputError(f"expected a string, got {type(val).__name__}", file=path, line=line, field=key)
    if not allow_empty and not val.strip():
        raise InputError("empty", file=path, line=line, field=key)
    return val


def require_id(obj: dict, key: str, *, path, line: int) -> str:
    """An id field: a non-empty string (or number) without white space, which a TREC run file cannot carry."""
    val = require_str(obj, key, path=path, line=line, allow_empty=False, coerce=True)
    if any(c.isspace() for c in val):
        raise InputError(f"id {val!r} contains white space (TREC run and qrels files cannot hold it)",
                         file=path, line=line, field=key)
    return val
