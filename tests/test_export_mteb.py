"""``lmkbench export --format mteb``: mteb's own readers load the export with lmkbench's scores."""
from __future__ import annotations

import dataclasses
import json

import pytest

from _export_results import run_tiny, task_file
from lmkbench.cli import main
from lmkbench.results import iter_results

mteb = pytest.importorskip("mteb")

TASKS = ["x_graded", "x_single_256", "x_single_512", "x_classes", "x_clusters"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny_bert):
    root = tmp_path_factory.mktemp("mteb_export")
    mp = pytest.MonkeyPatch()
    mp.setenv("LMKBENCH_TASKS", str(task_file(root)))
    results = run_tiny(tiny_bert, root / "results", root / "cache", TASKS)
    out = root / "mteb"
    assert main(["export", str(results), "--format", "mteb", "-o", str(out)]) == 0
    yield list(iter_results(results)), out
    mp.undo()


def test_result_cache_loads_every_model_pooling_with_equal_main_scores(exported):
    records, out = exported
    cache = mteb.cache.ResultCache(out)
    loaded = cache.load_results(include_remote=False)
    got = {(m.model_name, t.task_name, split): entry["main_score"]
           for m in loaded.model_results for t in m.task_results for split, entries in t.scores.items()
           for entry in entries}
    names = {"x_graded": ("SciFact", "test"), "x_single_256": ("LEMBPasskeyRetrieval", "test_256"),
             "x_single_512": ("LEMBPasskeyRetrieval", "test_512"),
             "x_classes": ("Banking77Classification", "test"), "x_clusters": ("lmkbench.x_clusters", "test")}
    assert len(records) == 10 and len(got) == 10
    for rec in records:
        task, split = names[rec.task]
        model = f"lmkbench/{rec.model}__{rec.pooling}"
        assert got[(model, task, split)] == pytest.approx(rec.metrics[rec.main_metric], abs=1e-6), rec.task
    assert {m for m, _ in cache.get_models()} == {f"lmkbench__{records[0].model}__{p}" for p in ("cls", "mean")}
    assert set(cache.get_task_names()) == {"SciFact", "LEMBPasskeyRetrieval", "Banking77Classification",
                                           "lmkbench.x_clusters"}


def test_task_result_files_use_mteb_layout_and_keys(exported):
    records, out = exported
    mean = next(r for r in records if r.task == "x_classes" and r.pooling == "mean")
    folder = out / "results" / f"lmkbench__{mean.model}__mean" / mean.meta.model_identity
    res = mteb.TaskResult.from_disk(folder / "Banking77Classification.json")
    (entry,) = res.scores["test"]
    assert entry["hf_subset"] == "default" and entry["languages"] == ["eng-Latn"]
    assert entry["main_score"] == pytest.approx(mean.metrics["accuracy"], abs=1e-6)
    assert entry["f1"] == pytest.approx(mean.metrics["f1_macro"], abs=1e-6)         # mteb's key for macro F1
    assert len(entry["scores_per_experiment"]) == len(mean.meta.evaluator["accuracy_per_experiment"])
    assert res.get_score() == pytest.approx(mean.metrics["accuracy"], abs=1e-6)
    passkey = mteb.TaskResult.from_disk(folder / "LEMBPasskeyRetrieval.json")
    assert sorted(passkey.scores) == ["test_256", "test_512"]                        # two lmkbench tasks, one mteb task
    assert passkey.scores["test_256"][0]["ndcg_at_1"] == passkey.scores["test_256"][0]["main_score"]
    meta = json.loads((folder / "model_meta.json").read_text())
    assert meta["name"] == f"lmkbench/{mean.model}__mean" and meta["loader_kwargs"]["pooling"] == "mean"
    assert meta["revision"] == mean.meta.model_identity


def test_mteb_tasks_only_and_checksum_mismatch(exported, tmp_path):
    from lmkbench.export import export

    records, _ = exported
    changed = [dataclasses.replace(r, meta=r.meta.updated(dataset_checksums={"corpus.jsonl": "0" * 64}))
               for r in records if r.task == "x_graded"]
    rep = export(changed, "mteb", tmp_path / "a")
    assert any("checksums differ" in n for n in rep.notes)
    assert sorted(p.name for p in rep.files if p.suffix == ".json" and p.name != "model_meta.json") == \
        ["lmkbench.x_graded.json"] * 2
    rep = export(changed, "mteb", tmp_path / "b", mteb_tasks_only=True)
    assert not rep.files and len(rep.skipped) == 2 and "not an mteb task" in rep.skipped[0]
