"""Loaders, ad-hoc specs, checksums, subsets and missing data (no shared data, no network)."""
from __future__ import annotations

import hashlib
import json
import shutil
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from lmkbench.data.beir import load_beir_folder
from lmkbench.data.types import LabelledData
from lmkbench.errors import LmkbenchError
from lmkbench.io import sha256_file
from lmkbench.tasks import resolve_tasks
from lmkbench.tasks.catalogue import read_task_file
from lmkbench.tasks.checksums import ChecksumError, checksum_status
from lmkbench.tasks.subset import subset_labelled, subset_retrieval


def test_beir_spec_keeps_its_naming(tiny_beir):
    (t,) = resolve_tasks(f"beir:{tiny_beir}")
    assert (t.name, t.kind, t.params["split"]) == ("tinybeir", "retrieval", "test")
    (t,) = resolve_tasks(f"beir:{tiny_beir}#train")
    assert t.name == "tinybeir-train"
    with pytest.raises(LmkbenchError, match=r"data not available: no qrels for split 'train' in .*\(available: test\)"):
        t.load()
    data = resolve_tasks(f"beir:{tiny_beir}")[0].load()
    assert data.name == "tinybeir" and len(data.queries) == 8 and data.info["checksums_verified"] is False


def test_generator_specs_make_one_task_per_length():
    tasks = resolve_tasks("passkey:256+1024")
    # the catalogue's passkey_256 pools 50 candidates, the generator's default 100: different data, own names
    assert [t.name.split("-adhoc-")[0] for t in tasks] == ["passkey_256", "passkey_1024"]
    assert all(t.name.startswith(("passkey_256-adhoc-", "passkey_1024-adhoc-")) for t in tasks)
    assert all(t.needs_tokenizer and t.group == "synthetic" for t in tasks)
    assert resolve_tasks("needle:512?haystack=paul_graham")[0].name.startswith("needle_pg_512-adhoc-")
    (t,) = resolve_tasks("passkey:256?n_candidates=20&n_queries=5")
    assert t.name == "passkey_256:n_candidates=20,n_queries=5" and t.params["n_candidates"] == 20
    assert [t.kind for t in resolve_tasks("bbc:clustering")] == ["clustering"]
    with pytest.raises(LmkbenchError, match="bad value for 'length'"):
        resolve_tasks("passkey:1024?length=x")
    with pytest.raises(LmkbenchError, match="expected lengths"):
        resolve_tasks("passkey:long")


def test_passkey_task_equals_the_generator(minilm_tokenizer):
    from lmkbench.data.synthetic import build_passkey, data_fingerprint

    (t,) = resolve_tasks("passkey:128?n_queries=4&n_candidates=6")
    data = t.load(tokenizer=minilm_tokenizer)
    ref = build_passkey(minilm_tokenizer, lengths=[128], n_queries=4, n_candidates=6)[128]
    assert data_fingerprint(data) == data_fingerprint(ref) and data.main_metric == "acc_at_1"
    with pytest.raises(LmkbenchError, match="tokenizer"):
        t.source_loader.load()


def labelled_file(tmp_path, rows):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_labelled_loader_resplits_and_keeps_duplicates_together(tmp_path):
    rows = [{"_id": f"r{i}", "text": f"text {i % 30}", "label": "ab"[i % 2], "split": "test"} for i in range(60)]
    path = labelled_file(tmp_path, rows)
    (t,) = resolve_tasks(f"labelled:{path}?test_fraction=0.5&seed=3")
    assert t.kind == "classification"
    data = t.load()
    assert set(data.splits) == {"train", "test", "all"} and data.eval_split == "test"
    assert sorted(data.splits["train"] + data.splits["test"]) == list(range(60))
    side = {}
    for s in ("train", "test"):
        for r in data.splits[s]:
            assert side.setdefault(data.texts[r], s) == s          # an exact duplicate never crosses over
    counts = Counter(data.labels[r] for r in data.splits["test"])
    assert set(counts) == {"a", "b"} and all(abs(n - 15) <= 1 for n in counts.values())   # whole pairs move
    (c,) = resolve_tasks(f"labelled:{path}?kind=clustering")
    assert c.kind == "clustering" and c.load().splits == {"test": list(range(60))}


def test_retrieval_subset_keeps_relevant_docs_and_is_deterministic(tiny_beir):
    def sub(seed):
        return subset_retrieval(load_beir_folder(tiny_beir), {"queries": 3, "docs": 6, "seed": seed})

    a, b = sub(0), sub(0)
    assert a.queries == b.queries and a.corpus == b.corpus
    assert len(a.queries) == 3 and len(a.corpus) == 6
    for q in a.queries:
        assert all(d in a.corpus for d in a.qrels[q])
    assert a.info["subset"]["before"] == {"queries": 8, "docs": 10}
    assert {tuple(sub(s).queries) for s in range(6)} != {tuple(a.queries)}   # the seed matters
    with pytest.raises(LmkbenchError, match="fewer than the"):
        subset_retrieval(load_beir_folder(tiny_beir), {"docs": 2})
    with pytest.raises(LmkbenchError, match="unknown retrieval subset key"):
        subset_retrieval(load_beir_folder(tiny_beir), {"rows": 2})


def test_labelled_subset_per_label_and_split():
    labels = ["x"] * 10 + ["y"] * 4
    data = LabelledData(name="d", ids=[str(i) for i in range(14)], texts=[""] * 14, labels=labels,
                        splits={"train": list(range(0, 14, 2)), "test": list(range(1, 14, 2))})
    out = subset_labelled(data, {"per_label": {"test": 2}, "seed": 1})
    assert Counter(labels[r] for r in out.splits["test"]) == {"x": 2, "y": 2}
    assert out.splits["train"] == list(range(0, 14, 2))
    with pytest.raises(LmkbenchError, match="names split 'dev'"):
        subset_labelled(data, {"per_label": {"dev": 2}})


def pinned_task_file(tmp_path, folder, sha=None):
    sha = sha or {k: sha256_file(folder / k) for k in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv")}
    text = textwrap.dedent(f"""\
        tasks:
          - name: pinned
            loader: beir
            group: short-retrieval
            params: {{path: {folder}}}
            sha256: {json.dumps(sha)}
        """)
    path = tmp_path / "pinned.yaml"
    path.write_text(text)
    (task,), _ = read_task_file(path)
    return task, path


def test_checksums_pass_then_a_changed_file_is_reported(tmp_path, tiny_beir, monkeypatch):
    task, path = pinned_task_file(tmp_path, tiny_beir)
    data = task.load()
    assert data.info["checksums_verified"] == ["corpus.jsonl", "qrels/test.tsv", "queries.jsonl"]
    assert checksum_status(task) == "ok"
    expected = sha256_file(tiny_beir / "queries.jsonl")
    with open(tiny_beir / "queries.jsonl", "a") as fh:
        fh.write(json.dumps({"_id": "extra", "text": "edited on purpose"}) + "\n")
    actual = sha256_file(tiny_beir / "queries.jsonl")
    with pytest.raises(ChecksumError) as info:
        task.load()
    msg = str(info.value)
    assert str(tiny_beir / "queries.jsonl") in msg and expected in msg and actual in msg and str(path) in msg
    assert "LMKBENCH_NO_VERIFY=1" in msg
    assert checksum_status(task) == "changed"
    monkeypatch.setenv("LMKBENCH_NO_VERIFY", "1")                # the user edited it on purpose
    data = task.load()
    assert "extra" not in data.queries and data.info["checksums_verified"] is False   # unjudged: not evaluated
    assert checksum_status(task) == "skipped"


def test_pinning_a_file_the_loader_does_not_read_is_an_error(tmp_path, tiny_beir):
    task, _ = pinned_task_file(tmp_path, tiny_beir, sha={"corpus.jsonl.gz": "0" * 64})
    with pytest.raises(LmkbenchError, match="sha256 names 'corpus.jsonl.gz', but the beir loader reads"):
        task.load()


def test_absent_data_is_reported_before_anything_is_read(tmp_path):
    task, _ = pinned_task_file(tmp_path, tmp_path / "nowhere", sha={"corpus.jsonl": "0" * 64})
    assert task.availability() == ("no", f"folder {tmp_path / 'nowhere'} not found")
    with pytest.raises(LmkbenchError, match=r"task pinned: data not available: folder .*nowhere not found "
                                            r"\(task file .*pinned.yaml\)"):
        task.load()


def test_shared_tasks_are_unavailable_without_shared_data(tmp_path, monkeypatch):
    monkeypatch.setenv("LMKBENCH_SHARED_DATA", str(tmp_path / "empty"))
    (t,) = resolve_tasks("scifact")
    assert t.availability()[0] == "no"
    with pytest.raises(LmkbenchError, match="task scifact: data not available"):
        t.load()
    (pg,) = resolve_tasks("needle_pg_256")
    assert pg.availability()[0] == "no" and "essays.jsonl not found" in pg.availability()[1]


def test_beir_download_with_a_stand_in_download(tmp_path, tiny_beir, monkeypatch):
    """BEIR's downloader is replaced by a copy from a local folder; everything else is the real path."""
    import beir.util

    calls = []

    def fake_download_and_unzip(url, out_dir):
        calls.append(url)
        shutil.copytree(tiny_beir, Path(out_dir) / "tinyset")
        (Path(out_dir) / "tinyset.zip").write_bytes(b"zip bytes")
        return str(Path(out_dir) / "tinyset")

    monkeypatch.setattr(beir.util, "download_and_unzip", fake_download_and_unzip)
    monkeypatch.setenv("LMKBENCH_DATA", str(tmp_path / "cache"))
    (t,) = resolve_tasks("beir-download:tinyset")
    assert t.availability()[0] == "network" and "tinyset.zip" in t.availability()[1]
    data = t.load()
    assert calls == ["https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/tinyset.zip"]
    assert len(data.queries) == 8 and (tmp_path / "cache" / "beir" / "tinyset" / "corpus.jsonl").exists()
    recorded = (tmp_path / "cache" / "beir" / "tinyset.zip.sha256").read_text().split()
    assert recorded[:2] == [hashlib.sha256(b"zip bytes").hexdigest(), "tinyset.zip"]
    assert t.availability() == ("yes", "")
    t.load()
    assert len(calls) == 1                                               # downloaded once, then cached
    assert not [p for p in (tmp_path / "cache" / "beir").iterdir() if p.name.startswith(".")]   # no partials


def test_beir_download_failure_is_one_clear_error(tmp_path, monkeypatch):
    import beir.util

    def offline(url, out_dir):
        raise ConnectionError("Failed to resolve host")

    monkeypatch.setattr(beir.util, "download_and_unzip", offline)
    monkeypatch.setenv("LMKBENCH_DATA", str(tmp_path / "cache"))
    (t,) = resolve_tasks("beir-download:msmarco#dev")
    with pytest.raises(LmkbenchError, match=r"could not download BEIR dataset 'msmarco' from https://.*msmarco.zip: "
                                            r"ConnectionError: Failed to resolve host \(beir-download needs a network\)"):
        t.load()
    assert not list((tmp_path / "cache" / "beir").iterdir())
