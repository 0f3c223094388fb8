"""On-disk embedding cache, keyed by everything that changes an embedding.

A cache *slot* is one folder per (model identity, pooling, max length, long policy, dtype, format version);
inside, shards of numpy arrays hold embeddings addressed by a hash of each text, so a re-run, a larger
corpus that shares texts, or an interrupted run that flushed some shards all reuse what exists.
No pickle: plain ``.npy`` files (``allow_pickle=False``).
"""
from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path

import numpy as np

from .io import atomic_write_json

FORMAT_VERSION = 1
_FIELDS = ("emb", "ntok", "trunc")


def text_hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest().encode()


def default_cache_dir() -> Path:
    return Path(os.environ.get("LMKBENCH_CACHE", Path.home() / ".cache" / "lmkbench"))


class CacheSlot:
    def __init__(self, root, **key):
        key = {"format": FORMAT_VERSION, **key}
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
        self.key = key
        self.dir = Path(root) / digest
        self._index: dict[bytes, tuple[str, int]] | None = None
        self._arrays: dict[str, dict[str, np.ndarray]] = {}

    def _load_index(self) -> dict[bytes, tuple[str, int]]:
        if self._index is None:
            self._index = {}
            if self.dir.exists():
                for keys_file in sorted(self.dir.glob("*.keys.npy")):
                    stem = keys_file.name[: -len(".keys.npy")]
                    try:
                        keys = np.load(keys_file, allow_pickle=False)
                    except (OSError, ValueError):
                        continue  # a torn shard from a killed run: ignore it
                    self._index.update((k, (stem, i)) for i, k in enumerate(keys.tolist()))
        return self._index

    def _shard(self, stem: str) -> dict[str, np.ndarray]:
        if stem not in self._arrays:
            self._arrays[stem] = {f: np.load(self.dir / f"{stem}.{f}.npy", allow_pickle=False, mmap_mode="r") for f in _FIELDS}
        return self._arrays[stem]

    def lookup(self, hashes: list[bytes]) -> np.ndarray:
        """Boolean mask: which hashes are cached."""
        index = self._load_index()
        return np.array([h in index for h in hashes], dtype=bool)

    def get(self, hashes: list[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Embeddings, token counts and truncation flags for hashes that are all cached.

        Reads shard by shard with one fancy index each (not row by row): a re-run served from the cache
        costs milliseconds per thousand texts.
        """
        index = self._load_index()
        rows = [index[h] for h in hashes]
        n = len(rows)
        if not n:
            return np.zeros((0, 0), np.float32), np.zeros(0, np.int64), np.zeros(0, bool)
        by_shard: dict[str, tuple[list[int], list[int]]] = {}
        for pos, (stem, i) in enumerate(rows):
            positions, offsets = by_shard.setdefault(stem, ([], []))
            positions.append(pos)
            offsets.append(i)
        emb: np.ndarray | None = None
        ntok = np.empty(n, np.int64)
        trunc = np.empty(n, bool)
        for stem, (positions, offsets) in by_shard.items():
            shard = self._shard(stem)
            pos, off = np.asarray(positions), np.asarray(offsets)
            part = np.asarray(shard["emb"][off], dtype=np.float32)
            if emb is None:
                emb = np.empty((n, part.shape[1]), np.float32)
            emb[pos] = part
            ntok[pos] = shard["ntok"][off]
            trunc[pos] = shard["trunc"][off]
        return emb, ntok, trunc

    def put(self, hashes: list[bytes], emb: np.ndarray, ntok: np.ndarray, trunc: np.ndarray) -> None:
        if not len(hashes):
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        if not (self.dir / "key.json").exists():
            atomic_write_json(self.dir / "key.json", self.key)
        stem = uuid.uuid4().hex[:12]
        arrays = {"emb": np.asarray(emb, np.float32), "ntok": np.asarray(ntok, np.int64), "trunc": np.asarray(trunc, bool)}
        for name, arr in arrays.items():
            tmp = self.dir / f".{stem}.{name}.tmp.npy"
            np.save(tmp, arr, allow_pickle=False)
            os.replace(tmp, self.dir / f"{stem}.{name}.npy")
        keys = np.array(hashes, dtype="S32")
        tmp = self.dir / f".{stem}.keys.tmp.npy"
        np.save(tmp, keys, allow_pickle=False)
        os.replace(tmp, self.dir / f"{stem}.keys.npy")  # the keys file last: a shard exists once it is there
        index = self._load_index()
        for i, h in enumerate(hashes):
            index[h] = (stem, i)
        self._arrays[stem] = arrays
