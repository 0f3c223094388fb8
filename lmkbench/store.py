"""The embedding store: durable, verified shards of embeddings, keyed by everything that changes them.

A text set flows through the encoder in *shards* (consecutive texts, bounded by count and characters; see
:func:`plan_shards`). Each finished shard is written at once, so an interrupted run loses at most the shard in
flight and a rerun reuses every shard that exists. The store *is* the cache:

* a **slot** is one folder per (model identity, pooling, max length, long policy, dtype, format version);
* a **shard** inside it is named by a hash of its texts' hashes, in order (``<stem>.emb.npy`` and the per-text
  arrays ``ntok``, ``cut``, ``split`` [, ``owner``]), plus ``<stem>.ok.json`` written **last**: the row count,
  each file's size and a BLAKE2b checksum. A shard exists once its ``ok.json`` does; every shard is verified
  against it when first read in a process, and a bad one is discarded (with a warning naming it) and
  recomputed. Plain ``.npy`` files (no pickle), memory-mappable for search.

The same texts in the same shard boundaries are found again whatever the task, split or run; a change of
shard size re-encodes (the stems change). :class:`MemoryStore` keeps shards in memory for the in-process API
(``cache_dir=False``); the runner uses a temporary folder instead so that memory stays bounded.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .io import atomic_write_bytes, atomic_write_json, file_digest

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
#: the arrays of a shard: embeddings, per text content tokens / content cut / split into windows, row owners
_DTYPES = {"emb": np.float32, "ntok": np.int32, "cut": np.bool_, "split": np.bool_, "owner": np.int32}


def text_hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest().encode()


def shard_stem(hashes: list[bytes]) -> str:
    """A shard's name: a hash of its texts' hashes in order (same texts, same boundaries → same shard)."""
    h = hashlib.blake2b(digest_size=12)
    for t in hashes:
        h.update(t)
    return f"{len(hashes)}-{h.hexdigest()}"


def default_cache_dir() -> Path:
    return Path(os.environ.get("LMKBENCH_CACHE", Path.home() / ".cache" / "lmkbench"))


def _checksum(path: Path) -> str:
    return file_digest(path, lambda: hashlib.blake2b(digest_size=16))


def slot_digest(key: dict) -> str:
    return hashlib.sha256(json.dumps({"format": FORMAT_VERSION, **key}, sort_keys=True).encode()).hexdigest()[:20]


class BadShard(Exception):
    """A shard whose files do not match its ``ok.json`` (torn, truncated or changed)."""


class DiskSlot:
    """One slot folder of shards. ``write`` is atomic per file, ``ok.json`` last; ``read`` verifies once."""

    def __init__(self, root: Path, key: dict):
        self.key = {"format": FORMAT_VERSION, **key}
        self.dir = Path(root) / slot_digest(key)
        self._verified: set[str] = set()

    def _path(self, stem: str, name: str) -> Path:
        return self.dir / f"{stem}.{name}.npy"

    def has(self, stem: str) -> bool:
        """True when the shard exists and verifies; a bad shard is discarded with a warning (then False)."""
        if not (self.dir / f"{stem}.ok.json").exists():
            return False
        try:
            self.verify(stem)
            return True
        except BadShard as exc:
            log.warning("discarding bad store shard %s (%s); it is recomputed", self.dir / stem, exc)
            self.discard(stem)
            return False

    def verify(self, stem: str) -> None:
        """Check a shard's files against its manifest, once per process (search reads shards many times)."""
        if stem in self._verified:
            return
        ok = self.dir / f"{stem}.ok.json"
        try:
            files = json.loads(ok.read_text())["files"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BadShard(f"unreadable {ok.name}: {exc}") from None
        for name, want in files.items():
            p = self._path(stem, name)
            try:
                size = p.stat().st_size
            except OSError:
                raise BadShard(f"{p.name} is missing") from None
            if size != want["bytes"]:
                raise BadShard(f"{p.name} has {size} bytes, expected {want['bytes']}")
            if _checksum(p) != want["blake2b"]:
                raise BadShard(f"{p.name} does not match its checksum")
        self._verified.add(stem)

    def discard(self, stem: str) -> None:
        for p in self.dir.glob(f"{stem}.*"):
            try:
                p.unlink()
            except OSError:
                pass
        self._verified.discard(stem)

    def write(self, stem: str, arrays: dict[str, np.ndarray]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        if not (self.dir / "key.json").exists():
            atomic_write_json(self.dir / "key.json", self.key)
        files = {}
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.save(buf, np.ascontiguousarray(arr, dtype=_DTYPES[name]), allow_pickle=False)
            final = self._path(stem, name)
            atomic_write_bytes(final, buf.getvalue())   # temp file, fsync, rename
            files[name] = {"bytes": final.stat().st_size, "blake2b": _checksum(final)}
        rows = len(arrays["ntok"])
        atomic_write_json(self.dir / f"{stem}.ok.json", {"rows": rows, "files": files})  # last: the shard exists
        self._verified.add(stem)

    def read(self, stem: str, name: str, mmap: bool = False) -> np.ndarray:
        self.verify(stem)
        return np.load(self._path(stem, name), allow_pickle=False, mmap_mode="r" if mmap else None)


class MemoryStoreSlot:
    """In-memory stand-in for :class:`DiskSlot` (the Python API without a cache)."""

    def __init__(self, shards: dict, key: dict):
        self.key = key
        self._shards = shards.setdefault(slot_digest(key), {})

    def has(self, stem: str) -> bool:
        return stem in self._shards

    def write(self, stem: str, arrays: dict[str, np.ndarray]) -> None:
        self._shards[stem] = {k: np.asarray(v, dtype=_DTYPES[k]) for k, v in arrays.items()}

    def read(self, stem: str, name: str, mmap: bool = False) -> np.ndarray:
        return self._shards[stem][name]


class DiskStore:
    def __init__(self, root, temporary: bool = False):
        self.root = Path(root)
        self.temporary = temporary

    def slot(self, **key) -> DiskSlot:
        return DiskSlot(self.root, key)

    def close(self) -> None:
        if self.temporary:
            shutil.rmtree(self.root, ignore_errors=True)

    def describe(self) -> str:
        return f"temporary store {self.root}" if self.temporary else f"store {self.root}"


class MemoryStore:
    temporary = True

    def __init__(self):
        self._shards: dict = {}

    def slot(self, **key) -> MemoryStoreSlot:
        return MemoryStoreSlot(self._shards, key)

    def close(self) -> None:
        self._shards.clear()

    def describe(self) -> str:
        return "memory store"


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


def open_store(cache_dir, *, temp_parent: Path | None = None, temp_name: str | None = None):
    """The store a run uses: the cache folder when it is writable, else (with a warning) a temporary folder.

    ``cache_dir=False`` asks for no cache: a temporary folder under ``temp_parent`` (the results folder, so
    that every torchrun rank sees it; ``temp_name`` then names it alike in all of them) or the system's
    temporary folder, removed by :meth:`DiskStore.close`.
    """
    if cache_dir is not False:
        root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        why = writable_dir(root)
        if why is None:
            return DiskStore(root)
        log.warning("embedding cache %s is not writable (%s): this run continues without a cache", root, why)
    parent = temp_parent if temp_parent is not None and writable_dir(temp_parent) is None else None
    if parent is not None and temp_name:
        return DiskStore(parent / f".lmkbench-store-{temp_name}", temporary=True)
    return DiskStore(tempfile.mkdtemp(prefix=".lmkbench-store-", dir=parent), temporary=True)
