"""The embedding store: durable, verified shards of embeddings, keyed by everything that changes them.

A text set flows through the encoder in *shards* (consecutive texts, bounded by count and characters; see
:func:`plan_shards`). Each finished shard is written at once, so an interrupted run loses at most the shard in
flight and a rerun reuses every shard that exists. The store *is* the cache:

* a **slot** is one folder, named by :func:`slot_digest` of its key: the model identity (a hash of its
  files), pooling spec (canonical, every default filled in), max length, long policy and dtype as the encoder
  gives them, plus the **code digest** (:func:`code_digest`: the bytes of every module that computes a vector,
  :data:`CODE_MODULES`, and the torch, transformers and tokenizers versions) and the array layout
  (:data:`FORMAT_VERSION` and the arrays' dtypes). ``key.json`` in the folder records that key;
* a **shard** inside it is named by a hash of its texts' hashes, in order (``<stem>.emb.npy`` and the per-text
  arrays ``ntok``, ``cut``, ``split`` [, ``owner`` for multi-vector poolings]), plus ``<stem>.ok.json`` written
  **last**: layout version, slot digest, stem, row count, vector count and dimension, each file's size and
  BLAKE2b checksum, and (optional) the ``cost`` of the encoding that produced it (:data:`COST_FIELDS`: tokens fed,
  padded tokens, forward seconds, device, dtype), so a run that reuses the shard can still say what its vectors
  cost. A shard exists once its ``ok.json`` does. Plain ``.npy`` files (no pickle), memory-mappable.

What invalidates stored vectors (a new slot, so the old shards are simply not found):

* another model (any byte of its weights or config), pooling spec, max length, long policy or dtype;
* any change to the source of a module in :data:`CODE_MODULES` (one byte of ``poolings.py`` will do: there
  is no version for a person to bump), or another torch, transformers or tokenizers version;
* another array layout (:data:`FORMAT_VERSION`, bumped with any change to the manifest or the arrays).

The same texts in the same shard boundaries are found again whatever the task, split or run; a change of
shard size re-encodes (the stems change). Each shard is verified when first read in a process
(:meth:`DiskSlot.verify`: manifest shape, slot and stem, every expected array present as a regular file with
its size and checksum, dtype, shape and row count, owners valid, vectors finite and of unit norm); a bad shard
is discarded with a warning naming it and recomputed, so a damaged store never changes a score. A write that
fails (disk full) keeps that run's shards in memory from then on, with one warning.

:class:`MemoryStore` keeps shards in memory for the in-process API (``cache_dir=False``); the runner uses a
temporary folder instead so that memory stays bounded, removed at the end of the run and on SIGTERM/SIGHUP
(SIGINT raises KeyboardInterrupt, whose unwinding and ``atexit`` remove it).
"""
from __future__ import annotations

import atexit
import functools
import hashlib
import io
import json
import logging
import os
import reprlib
import shutil
import signal
import stat
import tempfile
import threading
from importlib import metadata
from pathlib import Path

import numpy as np

from .errors import LmkbenchError
from .io import atomic_write_bytes, atomic_write_json, file_digest

log = logging.getLogger(__name__)

#: the on-disk layout (manifest fields, array names and dtypes); bump it with any change to them. Vector code is
#: keyed by :func:`code_digest` instead, with nothing to bump.
FORMAT_VERSION = 4
#: the arrays of a shard: embeddings, per text content tokens / content cut / split into windows, row owners
_DTYPES = {"emb": np.float32, "ntok": np.int32, "cut": np.bool_, "split": np.bool_, "owner": np.int32}
#: arrays every shard has; ``owner`` (which text each row belongs to) only multi-vector poolings'
BASE_ARRAYS = ("emb", "ntok", "cut", "split")
#: the optional ``cost`` entry of a shard's manifest: what encoding the shard took (its input family's forward
#: passes; poolings of one family share them and record the same cost). Field → check of its value.
COST_FIELDS = {"tokens": "count", "padded_tokens": "count", "forward_s": "seconds", "device": "name", "dtype": "name"}
#: a stored vector's norm may differ from 1 by this much (float32 rounding); an all-zero row is also accepted
NORM_TOLERANCE = 1e-3

#: the modules (of this package) whose source decides what a stored vector is: their bytes are in every slot
#: key. Absent ones count as absent (so adding the file changes the key too). ``devices`` is one: its
#: ``autocast_for`` decides how the forward pass computes in the dtype the key names.
CODE_MODULES = ("encoder", "inputs", "poolings", "strategies", "models", "positions", "attention", "devices")
#: modules the encoder imports that do not decide a stored vector (tests/test_store_integrity.py insists
#: that every module the encoder imports is in one of the two lists)
NOT_VECTOR_MODULES = {
    "errors": "error messages",
    "io": "file helpers (atomic writes, checksums)",
    "params": "parameter parsing: the key holds the canonical pooling spec with every default filled in",
    "specs": "spec parsing: as params",
    "settings": "declares the encoder settings, whose values are in the key",
    "search": "reads stored vectors, never writes them",
    "stored": "reads stored vectors, never writes them",
    "batching": "shard and batch sizes: which texts share a shard (the shard's name) and a batch (float rounding "
                "at most; the token budget is not in the key either), never what a vector is",
    "store": "this module: its layout is keyed by FORMAT_VERSION and _DTYPES",
    "labels": "the label results are filed under (a name, never a vector)",
    "system": "names the settings that key a vector (VECTOR_SETTINGS); their values are in the key",
    "tasks": "reached through system's task identity of results (TaskRef); never a vector",
}
#: libraries whose versions are in every slot key (tokenisation and the forward pass)
CODE_LIBRARIES = ("torch", "transformers", "tokenizers")
_PACKAGE_DIR = Path(__file__).resolve().parent
_MANIFEST_MAX_BYTES = 1 << 16


def text_hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest().encode()


def shard_stem(hashes: list[bytes]) -> str:
    """A shard's name: a hash of its texts' hashes in order (same texts, same boundaries → same shard)."""
    h = hashlib.blake2b(digest_size=12)
    for t in hashes:
        h.update(t)
    return f"{len(hashes)}-{h.hexdigest()}"


def default_cache_dir() -> Path:
    """``$LMKBENCH_CACHE`` (``~`` expanded; empty or blank counts as unset), else ``~/.cache/lmkbench``."""
    env = os.environ.get("LMKBENCH_CACHE", "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "lmkbench"


def _checksum(path: Path) -> str:
    return file_digest(path, lambda: hashlib.blake2b(digest_size=16))


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def source_digests(names) -> dict[str, str]:
    """A BLAKE2b of each named module of this package: a module's source file, or a subpackage's ``*.py`` files
    (their paths and digests, in order); ``"absent"`` where there is none (so adding the file changes it too)."""
    out = {}
    for name in names:
        package, module = _PACKAGE_DIR / name, _PACKAGE_DIR / f"{name}.py"
        if package.is_dir():
            parts = [f"{p.relative_to(_PACKAGE_DIR)}:{_checksum(p)}" for p in sorted(package.rglob("*.py"))]
            out[name] = hashlib.blake2b("\n".join(parts).encode(), digest_size=16).hexdigest()
        else:
            out[name] = _checksum(module) if module.is_file() else "absent"
    return out


@functools.lru_cache(maxsize=None)
def code_parts() -> dict:
    """What :func:`code_digest` hashes: a BLAKE2b of each of :data:`CODE_MODULES`' source files (or "absent"),
    the library versions and the array layout. Computed once per process."""
    return {"modules": source_digests(CODE_MODULES), "libraries": {d: _version(d) for d in CODE_LIBRARIES},
            "layout": {"format": FORMAT_VERSION, "dtypes": {k: np.dtype(v).str for k, v in _DTYPES.items()}}}


def code_digest() -> str:
    """A short hash of the code that computes stored vectors (:func:`code_parts`, and the source of every
    extension registered from outside lmkbench: :func:`lmkbench.specs.extension_digests`); in every slot key."""
    from .specs import extension_digests

    parts = {**code_parts(), **({"extensions": ext} if (ext := extension_digests()) else {})}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def slot_key(key: dict) -> dict:
    """The full key of a slot: the encoder's key plus the layout version and the code digest."""
    return {"format": FORMAT_VERSION, "code": code_digest(), **key}


def slot_digest(key: dict) -> str:
    """The slot folder's name: a hash of :func:`slot_key` (``key`` as the encoder gives it, any entries)."""
    return hashlib.sha256(json.dumps(slot_key(key), sort_keys=True).encode()).hexdigest()[:20]


class BadShard(LmkbenchError):
    """A shard that does not verify (torn, truncated, changed, misplaced or of another layout)."""


# -- what a shard must be --------------------------------------------------------------------------------
def _is_count(x) -> bool:
    return type(x) is int and x >= 0


def _show(x) -> str:
    """A manifest value in a message: short, whatever its depth or size."""
    return reprlib.repr(x)


def check_manifest(man, *, slot: str, stem: str) -> dict[str, dict]:
    """The ``files`` entry of a shard's manifest, or :class:`BadShard` saying what is wrong with it."""
    if not isinstance(man, dict):
        raise BadShard(f"manifest is a JSON {type(man).__name__}, not an object")
    if man.get("format") != FORMAT_VERSION:
        raise BadShard(f"layout version {_show(man.get('format'))}, expected {FORMAT_VERSION}")
    if man.get("slot") != slot:
        raise BadShard(f"written for slot {_show(man.get('slot'))}, not this one ({slot})")
    if man.get("stem") != stem:
        raise BadShard(f"written as shard {_show(man.get('stem'))}, not {stem}")
    for field in ("rows", "vectors", "dim"):
        if not _is_count(man.get(field)):
            raise BadShard(f"field {field!r} is {_show(man.get(field))}, not a count")
    if str(man["rows"]) != stem.split("-", 1)[0]:
        raise BadShard(f"{man['rows']} rows for a shard of {stem.split('-', 1)[0]} texts")
    files = man.get("files")
    if not isinstance(files, dict):
        raise BadShard("field 'files' is not an object")
    unknown = sorted(set(files) - set(_DTYPES))
    missing = [name for name in BASE_ARRAYS if name not in files]
    if unknown or missing:
        raise BadShard(f"arrays {_show(unknown)} are unknown" if unknown else f"arrays {missing} are not listed")
    for name, want in files.items():
        if not (isinstance(want, dict) and _is_count(want.get("bytes")) and isinstance(want.get("blake2b"), str)):
            raise BadShard(f"entry {name!r} is not {{'bytes': count, 'blake2b': hex}}")
    if "cost" in man:
        check_cost(man["cost"])
    return files


_COST_CHECKS = {"count": _is_count,
                "seconds": lambda x: type(x) in (int, float) and 0 <= x < float("inf"),
                "name": lambda x: isinstance(x, str) and 0 < len(x) <= 64}


def check_cost(cost) -> dict:
    """A manifest's ``cost`` entry (:data:`COST_FIELDS`, nothing else), or :class:`BadShard` saying what is wrong."""
    if not isinstance(cost, dict) or set(cost) != set(COST_FIELDS):
        raise BadShard(f"field 'cost' is {_show(cost)}, not an object of {sorted(COST_FIELDS)}")
    for field, kind in COST_FIELDS.items():
        if not _COST_CHECKS[kind](cost[field]):
            raise BadShard(f"cost field {field!r} is {_show(cost[field])}, not a {kind}")
    return cost


def check_arrays(arrays: dict[str, np.ndarray], rows: int, *, multi: bool | None = None,
                 dim: int | None = None) -> tuple[int, int]:
    """``(vectors, dim)`` of a shard's arrays, or :class:`BadShard` saying what is wrong: dtypes, shapes, row
    counts, owners (sorted, in range, every text once or more), finite vectors of unit norm. ``multi`` (when
    known) says whether ``owner`` must be there; ``dim`` is the slot's dimension where known."""
    for name, arr in arrays.items():
        if not isinstance(arr, np.ndarray) or arr.dtype != np.dtype(_DTYPES[name]):
            got = arr.dtype if isinstance(arr, np.ndarray) else type(arr).__name__
            raise BadShard(f"{name} has dtype {got}, expected {np.dtype(_DTYPES[name])}")
        if arr.ndim != (2 if name == "emb" else 1):
            raise BadShard(f"{name} has shape {arr.shape}")
    if multi is not None and multi != ("owner" in arrays):
        raise BadShard("owner array " + ("missing (multi-vector pooling)" if multi else "present (one vector per text)"))
    emb = arrays["emb"]
    vectors, width = emb.shape
    if width == 0 or (dim is not None and width != dim):
        raise BadShard(f"emb has dimension {width}, expected {dim or 'at least 1'}")
    for name in ("ntok", "cut", "split"):
        if len(arrays[name]) != rows:
            raise BadShard(f"{name} has {len(arrays[name])} rows, expected {rows}")
    if (arrays["ntok"] < 0).any():
        raise BadShard("ntok has negative counts")
    owner = arrays.get("owner")
    if owner is None:
        if vectors != rows:
            raise BadShard(f"emb has {vectors} rows, expected {rows}")
    else:
        if len(owner) != vectors:
            raise BadShard(f"owner has {len(owner)} rows for {vectors} vectors")
        steps = np.diff(owner)
        if rows and (not vectors or owner[0] != 0 or owner[-1] != rows - 1 or ((steps != 0) & (steps != 1)).any()):
            raise BadShard(f"owner does not cover texts 0..{rows - 1} in order")
        if not rows and vectors:
            raise BadShard("owner rows for a shard of no texts")
    step = max(1, (1 << 20) // width)   # in blocks of about 8 MB: emb may be memory-mapped and large
    for at in range(0, vectors, step):
        block = np.asarray(emb[at:at + step], dtype=np.float64)
        if not np.isfinite(block).all():
            raise BadShard("emb has NaN or infinite values")
        norms = np.linalg.norm(block, axis=1)
        if ((np.abs(norms - 1) > NORM_TOLERANCE) & (norms != 0)).any():
            raise BadShard("emb has vectors that are not of unit norm")
    return vectors, width


def _load(path: Path, want: dict) -> np.ndarray:
    """One array file checked against its manifest entry: a regular file of that size and checksum, then
    loaded without pickle (memory-mapped: verification reads it in blocks)."""
    try:
        st = path.lstat()
    except OSError:
        raise BadShard(f"{path.name} is missing") from None
    if not stat.S_ISREG(st.st_mode):
        raise BadShard(f"{path.name} is not a regular file")
    if st.st_size != want["bytes"]:
        raise BadShard(f"{path.name} has {st.st_size} bytes, expected {want['bytes']}")
    try:
        if _checksum(path) != want["blake2b"]:
            raise BadShard(f"{path.name} does not match its checksum")
        arr = np.load(path, allow_pickle=False, mmap_mode="r" if st.st_size else None)
    except BadShard:
        raise
    except Exception as exc:  # noqa: BLE001 - numpy's header parser raises many types for a bad file
        raise BadShard(f"{path.name} does not load as a plain array ({type(exc).__name__}: {exc})") from None
    if not isinstance(arr, np.ndarray):   # an .npz archive under an .npy name
        raise BadShard(f"{path.name} is not a single array")
    return arr


# -- the disk store ----------------------------------------------------------------------------------------
class _Spill:
    """Shards a store could not write (disk full...): kept in memory for the rest of the process."""

    def __init__(self):
        self.reason: str | None = None
        self.shards: dict = {}

    def fail(self, where: Path, exc: OSError) -> None:
        if self.reason is None:
            self.reason = exc.strerror or str(exc)
            log.warning("cannot write to the embedding store %s (%s): this run keeps its embeddings in memory "
                        "from here on (free space, or pass another --cache-dir, to cache them)", where, self.reason)


class DiskSlot:
    """One slot folder of shards. ``write`` is atomic per file, ``ok.json`` last; ``read`` verifies once.

    ``multi`` (when the caller knows it) says whether shards must hold an ``owner`` array."""

    def __init__(self, root: Path, key: dict, *, multi: bool | None = None, spill: _Spill | None = None,
                 refresh: bool = False):
        self.key = slot_key(key)
        self.digest = slot_digest(key)
        self.root = Path(root)
        self.dir = self.root / self.digest
        self.multi = multi
        self.refresh = refresh          # --overwrite: shards found on disk are recomputed (and replaced)
        self._written: set[str] = set()
        self._own_dir()
        self._spill = spill if spill is not None else _Spill()
        self._mem = MemoryStoreSlot(self._spill.shards, key)
        self._verified: dict[str, frozenset] = {}
        self._costs: dict[str, dict | None] = {}
        self._dim: int | None = None

    def _path(self, stem: str, name: str) -> Path:
        return self.dir / f"{stem}.{name}.npy"

    def _own_dir(self) -> None:
        """A slot folder that is a symbolic link (to another slot, or anywhere) is never read through: the link
        is removed (its target is left alone) and the slot starts empty, with a warning."""
        if self.dir.is_symlink():
            log.warning("store slot %s is a symbolic link (to %s); it is not read through and is replaced by an "
                        "empty slot", self.dir, os.readlink(self.dir))
            try:
                self.dir.unlink()
            except OSError as exc:
                raise LmkbenchError(f"store slot {self.dir} is a symbolic link that cannot be removed ({exc})") from None

    def has(self, stem: str) -> bool:
        """True when the shard exists and verifies; a bad shard is discarded with a warning (then False)."""
        if self._mem.has(stem):
            return True
        if self.refresh and stem not in self._written:
            return False
        try:
            if self.dir.is_symlink():
                self._own_dir()
                return False
            if not os.path.lexists(self.dir / f"{stem}.ok.json"):
                return False
            self.verify(stem)
            return True
        except BadShard as exc:
            log.warning("discarding bad store shard %s (%s); it is recomputed", self.dir / stem, exc)
            self.discard(stem)
            return False

    def verify(self, stem: str) -> None:
        """Check a shard against its manifest and the layout, once per process (search reads shards many
        times); :class:`BadShard` says what is wrong."""
        if stem in self._verified:
            return
        ok = self.dir / f"{stem}.ok.json"
        try:
            st = ok.lstat()
            if not stat.S_ISREG(st.st_mode) or st.st_size > _MANIFEST_MAX_BYTES:
                raise BadShard(f"{ok.name} is not a regular file of at most {_MANIFEST_MAX_BYTES} bytes")
            man = json.loads(ok.read_bytes())
        except (OSError, ValueError, RecursionError) as exc:
            raise BadShard(f"unreadable {ok.name}: {exc}") from None
        files = check_manifest(man, slot=self.digest, stem=stem)
        arrays = {name: _load(self._path(stem, name), want) for name, want in files.items()}
        vectors, dim = check_arrays(arrays, man["rows"], multi=self.multi, dim=self._dim)
        if (vectors, dim) != (man["vectors"], man["dim"]):
            raise BadShard(f"emb is {vectors}×{dim}, the manifest says {man['vectors']}×{man['dim']}")
        self._dim = dim
        self._verified[stem] = frozenset(files)
        self._costs[stem] = man.get("cost")

    def cost(self, stem: str) -> dict | None:
        """The recorded cost of the encoding that produced a shard (:data:`COST_FIELDS`), or None."""
        if self._mem.has(stem):
            return self._mem.cost(stem)
        self.verify(stem)
        return self._costs.get(stem)

    def discard(self, stem: str) -> None:
        """Remove a shard's files (and any temporary file a killed write left), whatever they are."""
        for p in [*self.dir.glob(f"{stem}.*"), *self.dir.glob(f".{stem}.*.tmp")]:
            try:
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p)
                else:
                    p.unlink()
            except OSError:
                pass
        self._verified.pop(stem, None)
        self._costs.pop(stem, None)

    def write(self, stem: str, arrays: dict[str, np.ndarray], cost: dict | None = None) -> None:
        """Store a shard, with the ``cost`` of the encoding that produced it (:data:`COST_FIELDS`) where known;
        arrays that would not verify are refused (:class:`BadShard`, e.g. NaN vectors). A write the disk refuses
        keeps this and every later shard of the store in memory, with one warning."""
        arrays = {k: np.ascontiguousarray(v, dtype=_DTYPES[k]) for k, v in arrays.items()}
        rows = len(arrays["ntok"])
        try:
            if stem.split("-", 1)[0] != str(rows):   # what verify will insist on (see shard_stem)
                raise BadShard(f"{rows} rows under a name for {stem.split('-', 1)[0]}")
            vectors, dim = check_arrays(arrays, rows, multi=self.multi, dim=self._dim)
            if cost is not None:
                check_cost(cost)
        except BadShard as exc:
            raise BadShard(f"refusing to store shard {stem} of {self.key.get('pooling', self.digest)}: {exc}") from None
        if self._spill.reason is None:
            try:
                self._write_files(stem, arrays, rows, vectors, dim, cost)
                self._dim = dim
                return
            except OSError as exc:
                self.discard(stem)   # nothing half-written stays behind (the manifest is written last anyway)
                self._spill.fail(self.root, exc)
        self._mem.write(stem, arrays, cost)

    def _write_files(self, stem: str, arrays: dict[str, np.ndarray], rows: int, vectors: int, dim: int,
                     cost: dict | None) -> None:
        self._own_dir()
        self.dir.mkdir(parents=True, exist_ok=True)
        self._verified.pop(stem, None)
        if not (self.dir / "key.json").exists():
            atomic_write_json(self.dir / "key.json", {**self.key, "code_parts": code_parts()})
        files = {}
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.save(buf, arr, allow_pickle=False)
            final = self._path(stem, name)
            atomic_write_bytes(final, buf.getvalue())   # temp file, fsync, rename
            files[name] = {"bytes": final.stat().st_size, "blake2b": _checksum(final)}
        manifest = {"format": FORMAT_VERSION, "slot": self.digest, "stem": stem, "rows": rows, "vectors": vectors,
                    "dim": dim, "files": files, **({"cost": cost} if cost is not None else {})}
        atomic_write_json(self.dir / f"{stem}.ok.json", manifest)   # last: the shard exists
        self._written.add(stem)
        self._verified[stem] = frozenset(files)
        self._costs[stem] = cost

    def read(self, stem: str, name: str, mmap: bool = False) -> np.ndarray:
        if self._mem.has(stem):
            return self._mem.read(stem, name)
        self.verify(stem)
        if name not in self._verified[stem]:
            raise BadShard(f"store shard {self.dir / stem} has no {name} array")
        return np.load(self._path(stem, name), allow_pickle=False, mmap_mode="r" if mmap else None)


class MemoryStoreSlot:
    """In-memory stand-in for :class:`DiskSlot` (the Python API without a cache)."""

    def __init__(self, shards: dict, key: dict, *, multi: bool | None = None):
        self.key = slot_key(key)
        self.multi = multi
        self._shards = shards.setdefault(slot_digest(key), {})

    def has(self, stem: str) -> bool:
        return stem in self._shards

    def write(self, stem: str, arrays: dict[str, np.ndarray], cost: dict | None = None) -> None:
        self._shards[stem] = ({k: np.asarray(v, dtype=_DTYPES[k]) for k, v in arrays.items()},
                              None if cost is None else dict(check_cost(cost)))

    def read(self, stem: str, name: str, mmap: bool = False) -> np.ndarray:
        return self._shards[stem][0][name]

    def cost(self, stem: str) -> dict | None:
        return self._shards[stem][1]


class DiskStore:
    """A folder of slots. A temporary one is removed by :meth:`close`, at exit, and on SIGTERM/SIGHUP."""

    def __init__(self, root, temporary: bool = False, refresh: bool = False):
        self.root = Path(root)
        self.temporary = temporary
        self.refresh = refresh          # --overwrite: recompute every shard this store is asked for
        self._spill = _Spill()
        if temporary:
            _register_temporary(self.root)

    def slot(self, *, multi: bool | None = None, **key) -> DiskSlot:
        return DiskSlot(self.root, key, multi=multi, spill=self._spill, refresh=self.refresh)

    def close(self) -> None:
        self._spill.shards.clear()
        if self.temporary:
            shutil.rmtree(self.root, ignore_errors=True)
            _TEMPORARY.discard(self.root)

    def describe(self) -> str:
        return f"temporary store {self.root}" if self.temporary else f"store {self.root}"


class MemoryStore:
    temporary = True

    def __init__(self):
        self._shards: dict = {}

    def slot(self, *, multi: bool | None = None, **key) -> MemoryStoreSlot:
        return MemoryStoreSlot(self._shards, key, multi=multi)

    def close(self) -> None:
        self._shards.clear()

    def describe(self) -> str:
        return "memory store"


# -- temporary stores are removed however the process ends (short of SIGKILL) --------------------------------
_TEMPORARY: set[Path] = set()
_CLEANUP = {"atexit": False, "signals": False}
#: signals that end the process by default and should not leave a temporary store behind (SIGINT raises
#: KeyboardInterrupt instead, and the run's own clean-up and atexit handle it)
_CLEANUP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


def _remove_temporary() -> None:
    for root in list(_TEMPORARY):
        shutil.rmtree(root, ignore_errors=True)
        _TEMPORARY.discard(root)


def _on_signal(previous, signum, frame) -> None:
    _remove_temporary()
    if callable(previous):   # someone else's handler: theirs decides what happens next
        previous(signum, frame)
        return
    signal.signal(signum, signal.SIG_DFL)   # the default: die of the same signal (the exit status says so)
    os.kill(os.getpid(), signum)


def _register_temporary(root: Path) -> None:
    """Remember a temporary store for removal at exit and on a terminating signal (handlers chain to any
    that were there; a signal that was ignored stays ignored). Signal handlers need the main thread."""
    _TEMPORARY.add(root)
    if not _CLEANUP["atexit"]:
        atexit.register(_remove_temporary)
        _CLEANUP["atexit"] = True
    if _CLEANUP["signals"] or threading.current_thread() is not threading.main_thread():
        return
    for sig in _CLEANUP_SIGNALS:
        previous = signal.getsignal(sig)
        if previous not in (signal.SIG_IGN, None):
            signal.signal(sig, functools.partial(_on_signal, previous))
    _CLEANUP["signals"] = True


def writable_dir(path: Path) -> str | None:
    """None when ``path`` (created if absent) takes a new file; else the reason it does not."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".lmkbench-probe-", dir=path)
        os.close(fd)
        os.unlink(probe)
        return None
    except OSError as exc:
        return exc.strerror or str(exc)


def open_store(cache_dir, *, temp_parent: Path | None = None, temp_name: str | None = None, refresh: bool = False):
    """The store a run uses: the cache folder when it is writable, else (with a warning) a temporary folder.

    ``cache_dir=False`` asks for no cache: a temporary folder under ``temp_parent`` (the results folder, so
    that every torchrun rank sees it; ``temp_name`` then names it alike in all of them) or the system's
    temporary folder, removed by :meth:`DiskStore.close` (or at exit, or on SIGTERM). ``refresh``
    (``--overwrite``): shards already stored are recomputed and replaced, never read.
    """
    if cache_dir is not False:
        given = cache_dir is not None and str(cache_dir).strip()   # "" means the default, not the working folder
        root = Path(cache_dir).expanduser() if given else default_cache_dir()
        why = writable_dir(root)
        if why is None:
            return DiskStore(root, refresh=refresh)
        log.warning("embedding cache %s is not writable (%s): this run continues without a cache", root, why)
    parent = temp_parent if temp_parent is not None and writable_dir(temp_parent) is None else None
    if parent is not None and temp_name:
        return DiskStore(parent / f".lmkbench-store-{temp_name}", temporary=True)
    return DiskStore(tempfile.mkdtemp(prefix=".lmkbench-store-", dir=parent), temporary=True)
