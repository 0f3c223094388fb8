"""The embedding store trusts nothing and knows the code (issue 20, items 2 and 3): every damaged shard is found,
discarded with a warning and recomputed to the vectors of a clean run; a change of the vector code is a new slot;
a full disk, a SIGTERM and an empty $LMKBENCH_CACHE end cleanly."""
from __future__ import annotations

import ast
import errno
import io
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from _support import REPO
import lmkbench.io
from lmkbench import store
from lmkbench.encoder import PooledEncoder
from lmkbench.errors import LmkbenchError
from lmkbench.poolings import make_pooling
from lmkbench.store import DiskStore, MemoryStore

#: canonical specs; the last gives several vectors per text (an owner array)
POOLINGS = [str(make_pooling(p).spec) for p in ("mean", "cls", "chunk:size=8,agg=max")]
MULTI = POOLINGS[2]
SHARD = 3


def _texts() -> list[str]:
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi".split()
    return [" ".join(words[(i + j) % len(words)] for j in range(4 + (i * 5) % 30)) for i in range(8)]


@pytest.fixture(scope="module")
def encoder(tiny_bert):
    """One tiny encoder for the module; each test points it at its own store."""
    return PooledEncoder(tiny_bert, cache_dir=False, progress=False, max_length=16, shard_texts=SHARD, device="cpu")


@pytest.fixture(scope="module")
def reference(encoder):
    encoder.store = MemoryStore()
    return encoder.encode(_texts(), POOLINGS)


def _encode(encoder, root: Path):
    encoder.store = DiskStore(root)
    return encoder.encode(_texts(), POOLINGS)


def _same(got, ref) -> None:
    for p in POOLINGS:
        np.testing.assert_allclose(got.embeddings[p], ref.embeddings[p], rtol=0, atol=1e-6, err_msg=p)
        np.testing.assert_array_equal(got.truncated[p], ref.truncated[p])
        np.testing.assert_array_equal(got.split[p], ref.split[p])
    np.testing.assert_array_equal(got.token_counts, ref.token_counts)
    np.testing.assert_array_equal(got.owners[MULTI], ref.owners[MULTI])


def _slot_dir(root: Path, pooling: str) -> Path:
    (hit,) = [p.parent for p in root.glob("*/key.json") if json.loads(p.read_text())["pooling"] == pooling]
    return hit


def _stems(slot_dir: Path) -> list[str]:
    return sorted(p.name[: -len(".ok.json")] for p in slot_dir.glob("*.ok.json"))


def _rows(stem: str) -> int:
    return int(stem.split("-")[0])


def _slot_dirs(root: Path) -> list[Path]:
    return [p.parent for p in root.glob("*/key.json")]


def _reseal(slot_dir: Path, stem: str, **changes) -> None:
    """Rewrite a shard's manifest so that sizes and checksums match the files as they now are (a forged or
    buggy manifest: what a checksum alone cannot catch), with ``changes`` applied on top."""
    ok = slot_dir / f"{stem}.ok.json"
    man = json.loads(ok.read_text())
    for name in man["files"]:
        p = slot_dir / f"{stem}.{name}.npy"
        if p.is_file():
            man["files"][name] = {"bytes": p.stat().st_size, "blake2b": store._checksum(p)}
    man.update(changes)
    ok.write_text(json.dumps(man))


def _array(slot_dir: Path, stem: str, name: str) -> Path:
    return slot_dir / f"{stem}.{name}.npy"


# -- the corruptions of issue 20 item 3, each given a manifest that matches the damaged files -------------------
def flipped_byte(root, stem):
    d = _slot_dir(root, "mean")
    p = _array(d, stem, "emb")
    data = bytearray(p.read_bytes())
    data[-2] ^= 0x40                      # an exponent bit of the last float: a different vector
    p.write_bytes(bytes(data))
    _reseal(d, stem)


def nan_vectors(root, stem):
    d = _slot_dir(root, "mean")
    emb = np.load(_array(d, stem, "emb"))
    emb[1] = np.nan
    np.save(_array(d, stem, "emb"), emb)
    _reseal(d, stem)


def wrong_row_count(root, stem):
    d = _slot_dir(root, "mean")
    np.save(_array(d, stem, "ntok"), np.load(_array(d, stem, "ntok"))[:-1])
    _reseal(d, stem)


def swapped_from_another_slot(root, stem):
    """The cls shard of the same texts copied over the mean one: every file and its manifest intact."""
    src, dst = _slot_dir(root, "cls"), _slot_dir(root, "mean")
    for p in src.glob(f"{stem}.*"):
        shutil.copyfile(p, dst / p.name)


def renamed_shard(root, stem):
    """Another shard of the same slot (same row count) under this shard's name."""
    d = _slot_dir(root, "mean")
    other = next(s for s in _stems(d) if s != stem and _rows(s) == _rows(stem))
    for p in d.glob(f"{other}.*"):
        shutil.copyfile(p, d / p.name.replace(other, stem))


def empty_files_entry(root, stem):
    d = _slot_dir(root, "mean")
    flipped_byte(root, stem)
    _reseal(d, stem, files={})


def manifest_a_list(root, stem):
    (_slot_dir(root, "mean") / f"{stem}.ok.json").write_text('["emb", "ntok"]')


def files_a_list(root, stem):
    _reseal(_slot_dir(root, "mean"), stem, files=["emb", "ntok", "cut", "split"])


def file_entry_a_number(root, stem):
    d = _slot_dir(root, "mean")
    man = json.loads((d / f"{stem}.ok.json").read_text())
    man["files"]["emb"] = 7
    (d / f"{stem}.ok.json").write_text(json.dumps(man))


def wrong_dimension(root, stem):
    d = _slot_dir(root, "mean")
    emb = np.load(_array(d, stem, "emb"))
    wide = np.hstack([emb, np.zeros((len(emb), 1), np.float32)])     # still unit norm, one more column
    np.save(_array(d, stem, "emb"), wide)
    _reseal(d, stem)


def object_dtype(root, stem):
    d = _slot_dir(root, "mean")
    np.save(_array(d, stem, "cut"), np.array([True, "x", None], dtype=object), allow_pickle=True)
    _reseal(d, stem)


def directory_for_a_file(root, stem):
    p = _array(_slot_dir(root, "mean"), stem, "emb")
    p.unlink()
    p.mkdir()
    (p / "inside").write_text("x")


def directory_for_the_manifest(root, stem):
    p = _slot_dir(root, "mean") / f"{stem}.ok.json"
    p.unlink()
    p.mkdir()


def _drop_array(d, stem, name):
    """Remove one array and its manifest entry (a manifest that agrees with the damage)."""
    _array(d, stem, name).unlink()
    man = json.loads((d / f"{stem}.ok.json").read_text())
    del man["files"][name]
    (d / f"{stem}.ok.json").write_text(json.dumps(man))


def missing_array(root, stem):
    _drop_array(_slot_dir(root, "mean"), stem, "split")


def missing_owner(root, stem):
    _drop_array(_slot_dir(root, MULTI), stem, "owner")


def owner_out_of_order(root, stem):
    d = _slot_dir(root, MULTI)
    owner = np.load(_array(d, stem, "owner"))
    np.save(_array(d, stem, "owner"), owner[::-1].copy())
    _reseal(d, stem)


CORRUPTIONS = [flipped_byte, nan_vectors, wrong_row_count, swapped_from_another_slot, renamed_shard,
               empty_files_entry, manifest_a_list, files_a_list, file_entry_a_number, wrong_dimension, object_dtype,
               directory_for_a_file, directory_for_the_manifest, missing_array, missing_owner, owner_out_of_order]


@pytest.fixture(scope="module")
def clean_store(encoder, reference, tmp_path_factory) -> Path:
    """A store written by a clean run (each test damages its own copy)."""
    root = tmp_path_factory.mktemp("clean") / "cache"
    _same(_encode(encoder, root), reference)
    return root


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda f: f.__name__)
def test_a_damaged_shard_is_discarded_and_recomputed(encoder, reference, clean_store, tmp_path, caplog, corrupt):
    root = tmp_path / "cache"
    shutil.copytree(clean_store, root)
    stem = next(s for s in _stems(_slot_dir(root, "mean")) if _rows(s) == SHARD)
    corrupt(root, stem)
    with caplog.at_level(logging.WARNING, logger="lmkbench.store"):
        again = _encode(encoder, root)
    _same(again, reference)                                       # the damage never reaches a vector
    assert "discarding bad store shard" in caplog.text and stem in caplog.text
    assert again.stats.cached == again.stats.texts * len(POOLINGS) - SHARD   # that shard alone encoded again
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lmkbench.store"):
        third = _encode(encoder, root)                            # the recomputed shard is whole again
    _same(third, reference)
    assert third.stats.cached == third.stats.texts * len(POOLINGS) and "discarding" not in caplog.text


# -- the code is in the key ---------------------------------------------------------------------------------------
def test_changed_code_is_a_new_slot_and_unchanged_code_reuses(encoder, reference, tmp_path, monkeypatch):
    root = tmp_path / "cache"
    first = _encode(encoder, root)
    assert first.stats.cached == 0
    slots = {p.parent.name for p in root.glob("*/key.json")}
    monkeypatch.setattr(store, "code_digest", lambda: "pooling code edited")
    changed = _encode(encoder, root)
    _same(changed, reference)
    assert changed.stats.cached == 0                              # nothing reused from the old code's slots
    assert len({p.parent.name for p in root.glob("*/key.json")} - slots) == len(POOLINGS)
    monkeypatch.undo()
    back = _encode(encoder, root)
    assert back.stats.cached == back.stats.texts * len(POOLINGS)  # the original code finds its shards again
    keys = [json.loads(p.read_text()) for p in root.glob("*/key.json")]        # the code is in every key
    assert sorted(k["code"] for k in keys) == sorted([store.code_digest(), "pooling code edited"] * len(POOLINGS))
    assert all(k["code_parts"] == store.code_parts() for k in keys)


def test_one_byte_of_a_vector_module_changes_the_digest(tmp_path, monkeypatch):
    for name in store.CODE_MODULES:
        src = store._PACKAGE_DIR / f"{name}.py"
        if src.is_file():
            shutil.copyfile(src, tmp_path / src.name)
    original = store.code_digest()
    monkeypatch.setattr(store, "_PACKAGE_DIR", tmp_path)
    store.code_parts.cache_clear()
    try:
        assert store.code_digest() == original                    # the bytes, not where they are
        slot = store.slot_digest({"pooling": "mean"})
        src = tmp_path / "poolings.py"
        src.write_bytes(src.read_bytes().replace(b"\n", b" \n", 1))
        store.code_parts.cache_clear()
        assert store.code_digest() != original
        assert store.slot_digest({"pooling": "mean"}) != slot
    finally:
        store.code_parts.cache_clear()


def test_the_code_digest_is_the_same_in_another_process():
    out = subprocess.run([sys.executable, "-c", "from lmkbench.store import code_digest; print(code_digest())"],
                         cwd=REPO, capture_output=True, text=True, timeout=120, check=True).stdout.strip()
    assert out == store.code_digest()


def _package_imports(module: str, seen: set[str]) -> set[str]:
    """The package's modules ``module`` imports (relative imports, anywhere in the file), transitively."""
    if module in seen:
        return seen
    seen.add(module)
    path = store._PACKAGE_DIR / f"{module}.py"
    if path.is_file():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                for name in ([node.module] if node.module else [a.name for a in node.names]):
                    _package_imports(name.split(".")[0], seen)
    return seen


def test_every_module_the_encoder_uses_is_declared_vector_code_or_not():
    used = _package_imports("encoder", set())
    undeclared = used - set(store.CODE_MODULES) - set(store.NOT_VECTOR_MODULES)
    assert not undeclared, f"add {sorted(undeclared)} to store.CODE_MODULES (or NOT_VECTOR_MODULES, with why)"


# -- write side: nothing that would not verify, nothing half-written ----------------------------------------------
def _shard(rows=3, dim=4, multi=False):
    rng = np.random.default_rng(0)
    vectors = rows * 2 if multi else rows
    emb = rng.normal(size=(vectors, dim)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    arrays = {"emb": emb, "ntok": np.arange(rows, dtype=np.int32), "cut": np.zeros(rows, bool),
              "split": np.zeros(rows, bool)}
    if multi:
        arrays["owner"] = np.repeat(np.arange(rows, dtype=np.int32), 2)
    return arrays


def test_arrays_that_would_not_verify_are_refused(tmp_path):
    slot = DiskStore(tmp_path).slot(pooling="mean")
    bad = _shard()
    bad["emb"][0] = np.nan
    with pytest.raises(LmkbenchError, match="refusing to store shard 3-x of mean: emb has NaN"):
        slot.write("3-x", bad)
    assert not list(tmp_path.rglob("*.npy"))


def test_the_slot_insists_on_owners_when_told_the_pooling_is_multi_vector(tmp_path):
    DiskStore(tmp_path).slot(pooling="p").write("3-a", _shard())
    assert DiskStore(tmp_path).slot(pooling="p").has("3-a")
    assert not DiskStore(tmp_path).slot(pooling="p", multi=True).has("3-a")      # discarded: no owner array
    DiskStore(tmp_path).slot(pooling="p").write("3-b", _shard(multi=True))
    assert not DiskStore(tmp_path).slot(pooling="p", multi=False).has("3-b")
    slot = DiskStore(tmp_path).slot(pooling="p", multi=True)
    slot.write("3-c", _shard(multi=True))
    assert DiskStore(tmp_path).slot(pooling="p", multi=True).has("3-c")
    with pytest.raises(LmkbenchError, match="owner array missing"):
        slot.write("3-d", _shard())


def test_a_full_disk_keeps_the_run_correct_and_the_store_clean(encoder, reference, tmp_path, monkeypatch, caplog):
    root = tmp_path / "cache"
    calls = {"n": 0}
    real = store.atomic_write_bytes

    def full_after_seven(path, data):
        calls["n"] += 1
        if calls["n"] > 7:                # mid-shard: some arrays written, the rest and the manifest refused
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path, data)

    monkeypatch.setattr(store, "atomic_write_bytes", full_after_seven)       # the arrays
    monkeypatch.setattr(lmkbench.io, "atomic_write_bytes", full_after_seven)  # key.json and ok.json
    with caplog.at_level(logging.WARNING, logger="lmkbench.store"):
        full = _encode(encoder, root)
    _same(full, reference)
    assert caplog.text.count("No space left on device") == 1 and "in memory" in caplog.text
    monkeypatch.undo()
    # what reached the disk is whole shards only: each verifies; no array without its manifest
    written = 0
    for d in _slot_dirs(root):
        key = json.loads((d / "key.json").read_text())
        slot = DiskStore(root).slot(**{k: v for k, v in key.items() if k not in ("format", "code", "code_parts")})
        assert slot.dir == d
        stems = _stems(d)
        assert all(p.name.split(".")[0] in stems for p in d.glob("*.npy")) and not list(d.glob(".*"))
        assert all(slot.has(s) for s in stems)
        written += sum(_rows(s) for s in stems)
    assert written >= 1
    with caplog.at_level(logging.WARNING, logger="lmkbench.store"):
        caplog.clear()
        later = _encode(encoder, root)    # space again: the written shards are reused, the rest computed
    _same(later, reference)
    assert "discarding" not in caplog.text and later.stats.cached == written


def test_an_empty_cache_variable_is_unset(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    for value in ("", "  "):
        monkeypatch.setenv("LMKBENCH_CACHE", value)
        assert store.default_cache_dir() == tmp_path / "home" / ".cache" / "lmkbench"
        assert store.open_store(None).root == tmp_path / "home" / ".cache" / "lmkbench"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]   # nothing in the working folder
    monkeypatch.setenv("LMKBENCH_CACHE", "~/elsewhere")
    assert store.default_cache_dir() == tmp_path / "home" / "elsewhere"


# -- any ok.json at all: has() answers, never raises, and never serves changed vectors ---------------------------
_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                     max_leaves=12)
_FIELDS = ["format", "slot", "stem", "rows", "vectors", "dim", "files"]


@pytest.fixture(scope="module")
def valid_shard(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    slot = DiskStore(root).slot(pooling="mean")
    slot.write("3-f", _shard(multi=True))
    files = {p.name: p.read_bytes() for p in slot.dir.iterdir()}
    return root, slot.dir, files


def _has_after(valid_shard, manifest: bytes) -> bool:
    root, d, files = valid_shard
    for name, data in files.items():               # the valid files again (a bad shard was discarded)
        (d / name).write_bytes(data)
    (d / "3-f.ok.json").write_bytes(manifest)
    slot = DiskStore(root).slot(pooling="mean")
    ok = slot.has("3-f")
    assert isinstance(ok, bool)
    if ok:                                         # only a shard that is what was written is ever served
        assert slot.read("3-f", "emb").tobytes() == np.load(io.BytesIO(files["3-f.emb.npy"])).tobytes()
    return ok


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=_JSON)
def test_fuzz_any_manifest(valid_shard, value):
    assert _has_after(valid_shard, json.dumps(value).encode()) is False


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(_FIELDS + ["files.emb", "files.owner", "files.emb.bytes", "files.emb.blake2b"]),
       value=_JSON)
def test_fuzz_one_field_of_a_valid_manifest(valid_shard, field, value):
    man = json.loads(valid_shard[2]["3-f.ok.json"])
    *path, last = field.split(".")
    target = man
    for part in path:
        target = target[part]
    if target.get(last) == value:
        return
    target[last] = value
    _has_after(valid_shard, json.dumps(man).encode())   # may be valid only if nothing that matters changed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=64))
def test_fuzz_manifest_bytes(valid_shard, data):
    assert _has_after(valid_shard, data) is False


def test_a_valid_manifest_verifies(valid_shard):
    assert _has_after(valid_shard, valid_shard[2]["3-f.ok.json"]) is True


def test_a_deeply_nested_manifest_is_a_bad_shard(valid_shard):
    assert _has_after(valid_shard, b"[" * 50_000 + b"]" * 50_000) is False


# -- a terminated run leaves no temporary store in --out ----------------------------------------------------------
SLOW = textwrap.dedent('''
    import sys, time
    from lmkbench import store
    from lmkbench.cli import main

    original = store.DiskSlot.write

    def write(self, stem, arrays, **kw):     # slow enough to be caught mid-run
        original(self, stem, arrays, **kw)
        time.sleep(0.4)

    store.DiskSlot.write = write
    sys.exit(main(sys.argv[1:]))
''')


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name != "posix", reason="needs POSIX signals")
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_signal_mid_run_removes_the_temporary_store(tiny_bert, tiny_beir, tmp_path, sig):
    script = tmp_path / "slow.py"
    script.write_text(SLOW)
    out = tmp_path / "out"
    args = ["run", "--model", tiny_bert, "--pooling", "mean", "--task", f"beir:{tiny_beir}", "--max-length", "32",
            "--device", "cpu", "--quiet", "--no-cache", "--shard-size", "1", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, str(script), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not list(out.glob(".lmkbench-store-*/*/*.ok.json")):    # a shard written: mid-run
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "no shard written in time"
            time.sleep(0.05)
        proc.send_signal(getattr(signal, sig))
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == (-signal.SIGTERM if sig == "SIGTERM" else 130), err[-2000:]
    assert "Traceback" not in err
    assert not list(out.glob(".lmkbench-store-*"))


_ARRAY_NAMES = ["emb", "ntok", "cut", "split", "owner"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(_ARRAY_NAMES),
       arr=hnp.arrays(dtype=st.sampled_from(["<f4", ">f4", "<f8", "<i4", "<i8", "|b1", "<U2", "|u1"]),
                      shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=8)),
       raw=st.none() | st.binary(max_size=96))
def test_fuzz_any_array_under_a_matching_manifest(valid_shard, name, arr, raw):
    """Any array (or any bytes) in place of one of the shard's, with a manifest resealed to match: has() answers,
    never raises, and serves only what was written."""
    root, d, files = valid_shard
    for fname, data in files.items():
        (d / fname).write_bytes(data)
    target = d / f"3-f.{name}.npy"
    if raw is not None:
        target.write_bytes(raw)
    else:
        np.save(target, arr)
    _reseal(d, "3-f")
    slot = DiskStore(root).slot(pooling="mean")
    ok = slot.has("3-f")
    assert isinstance(ok, bool)
    if ok:   # a shard that verifies reads back in the layout's dtypes, with one vector per owner entry
        got = {n: slot.read("3-f", n) for n in _ARRAY_NAMES}
        assert all(got[n].dtype == store._DTYPES[n] for n in got)
        assert len(got["owner"]) == len(got["emb"]) and np.isfinite(got["emb"]).all()
