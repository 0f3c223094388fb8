"""The typed result record: a result file read into a ResultRecord and written back is the same file; bad
fields are one InputError naming file and field; every consumer reads records, never raw dicts."""
from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from lmkbench.errors import InputError
from lmkbench.io import atomic_write_json
from lmkbench.results import (NoItemScores, ResultFile, ResultMeta, ResultRecord, iter_results, load_results,
                              read_result)


def _file(**over):
    rec = {"schema": "lmkbench.result/1", "task": "t", "task_kind": "retrieval", "task_group": "short-retrieval",
           "split": "test", "model": "m", "pooling": "lmk:g=32", "main_metric": "ndcg_at_10",
           "metrics": {"ndcg_at_10": 0.5, "recall_at_100": None},
           "per_query": {"q1": {"ndcg_at_10": 1.0, "length": 12, "truncated": False},
                         "q2": {"ndcg_at_10": None, "length": 700, "truncated": True}},
           "meta": {"max_length": 512, "long_policy": "truncate", "dataset_checksums": {"corpus.jsonl": "ab"},
                    "trained_pooling": "mean", "pooling_mismatch": True, "prompts": {"queries": "q: "},
                    "my_note": [1, 2]},
           "extra_key": {"kept": True}}
    rec.update(over)
    return rec


def test_a_file_round_trips_through_the_record(tmp_path):
    raw = _file()
    path = tmp_path / "r.json"
    path.write_text(json.dumps(raw))
    rec = read_result(path)
    assert rec.path == path and rec.key == ("t", "m", "lmk:g=32") and rec.item_table == "per_query"
    assert rec.value == 0.5 and rec.metrics["recall_at_100"] is None
    assert rec.meta.max_length == 512 and rec.meta.trained_pooling == "mean" and rec.meta.pooling_mismatch is True
    assert rec.meta.get("prompts") == {"queries": "q: "} and rec.meta.get("absent", 3) == 3
    assert rec.meta.has("my_note") and not rec.meta.has("device")     # absent keys stay absent when written
    assert rec.to_json() == raw
    out = rec.write(tmp_path / "out")
    assert json.loads(out.read_text()) == raw and out.name == "lmk_g=32.json"
    assert list(json.loads(out.read_text())["meta"]) == list(raw["meta"])    # key order kept: same bytes
    atomic_write_json(tmp_path / "direct.json", raw)
    assert out.read_bytes() == (tmp_path / "direct.json").read_bytes()


def test_one_nan_policy_and_numpy_numbers_on_write(tmp_path):
    rec = ResultRecord(task="t", model="m", pooling="mean", main_metric="acc", metrics={"acc": np.float32(0.25),
                       "f1": math.nan}, items={"a": {"correct": np.int64(1), "score": math.inf}})
    got = json.loads(rec.write(tmp_path).read_text())
    assert got["metrics"] == {"acc": 0.25, "f1": None} and got["per_item"] == {"a": {"correct": 1, "score": None}}
    assert ResultRecord.read(rec.path).metrics == {"acc": 0.25, "f1": None}


@pytest.mark.parametrize("over,field", [
    ({"task": ""}, "task"),
    ({"pooling": 3}, "pooling"),
    ({"metrics": {"ndcg_at_10": "high"}}, "metrics.ndcg_at_10"),
    ({"metrics": [1]}, "metrics"),
    ({"per_query": {"q1": 3}}, "per_query.q1"),
    ({"greater_is_better": "yes"}, "greater_is_better"),
    ({"meta": {"max_length": "long"}}, "meta.max_length"),
    ({"meta": {"dataset_checksums": {"a": 1}}}, "meta.dataset_checksums.a"),
])
def test_bad_fields_are_one_input_error_naming_the_field(tmp_path, over, field):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(_file(**over)))
    with pytest.raises(InputError) as info:
        read_result(path)
    assert info.value.field == field and str(path) in str(info.value)


def test_per_item_scores_and_their_errors():
    rec = ResultRecord.from_json(_file())
    assert rec.item_metric() == "ndcg_at_10"
    assert np.array_equal(rec.scores(["q1", "q2"], "ndcg_at_10"), [1.0, np.nan], equal_nan=True)
    with pytest.raises(InputError, match="per_query.q1.length|not a per-item score"):
        rec.item_metric("mrr_at_10")
    clustering = ResultRecord.from_json(_file(main_metric="v_measure", per_query={"a": {"length": 3}}))
    with pytest.raises(NoItemScores):
        clustering.item_metric()
    bad = dataclasses.replace(rec, items={"q1": {"ndcg_at_10": "x"}})
    with pytest.raises(InputError) as info:
        bad.scores(["q1"], "ndcg_at_10")
    assert info.value.field == "per_query.q1.ndcg_at_10"


def test_extra_meta_is_checked_before_any_work():
    from lmkbench.runner import RunSettings

    with pytest.raises(InputError, match="field 'device'"):
        RunSettings("m", extra_meta={"device": 0})
    assert RunSettings("m", extra_meta={"study": "x"}).extra_meta == {"study": "x"}


def test_mappings_are_read_as_records_and_meta_updates_keep_other_keys(tmp_path):
    (rec,) = load_results([_file()])
    assert isinstance(rec, ResultRecord) and rec.where == "<result #0>"
    meta = rec.meta.updated(matched_checkpoint="ckpt", max_length=128)
    assert isinstance(meta, ResultMeta) and meta.max_length == 128 and meta.get("matched_checkpoint") == "ckpt"
    assert meta.get("my_note") == [1, 2]


def test_other_lmkbench_documents_in_a_results_folder_are_passed_over_quietly(tmp_path, caplog):
    (tmp_path / "a.json").write_text(json.dumps(_file()))
    (tmp_path / "baseline.json").write_text(json.dumps({"schema": "lmkbench.baseline/1", "cells": []}))
    (tmp_path / "broken.json").write_text('{"schema": "lmkbench.result/1", "task": ')
    recs = list(iter_results(tmp_path, on_bad="warn"))
    assert [r.path.name for r in recs] == ["a.json"]
    assert "broken.json" in caplog.text and "baseline.json" not in caplog.text


# ------------------------------------------------------------------ declared per-item scores (issue 22 item 6)
def test_declared_scores_are_the_only_per_item_scores():
    """A result that names its scores (``item_scores``) is read by them: an item field that is a number but no
    score (``doc_tokens``, a new descriptive field) is never offered or tested as one."""
    items = {"q1": {"ndcg_at_10": 1.0, "length": 12, "n_passages": 3}, "q2": {"ndcg_at_10": 0.0, "length": 9,
                                                                              "n_passages": 5}}
    declared = ResultRecord.from_json(_file(item_scores=["ndcg_at_10"], per_query=items))
    assert declared.score_fields() == ["ndcg_at_10"] and declared.item_metric() == "ndcg_at_10"
    with pytest.raises(InputError, match=r"'n_passages' is not a per-item score \(per-item scores: ndcg_at_10\)"):
        declared.item_metric("n_passages")
    older = ResultRecord.from_json(_file(per_query=items))          # no declaration: today's reading
    assert older.score_fields() == ["n_passages", "ndcg_at_10"] and older.item_metric("n_passages") == "n_passages"


def test_declared_scores_pick_the_outcome_when_the_main_metric_has_none():
    rec = ResultRecord.from_json(_file(main_metric="v_measure", item_scores=["correct", "correct_rate"],
                                       per_query={"a": {"correct": 1, "correct_rate": 0.5, "cluster": 3}}))
    assert rec.item_metric() == "correct_rate"
    none = ResultRecord.from_json(_file(main_metric="v_measure", item_scores=[], per_query={"a": {"correct": 1}}))
    with pytest.raises(NoItemScores, match="per-item scores: none"):
        none.item_metric()


def test_the_declaration_round_trips_and_older_files_stay_byte_identical(tmp_path):
    raw = _file(item_scores=["ndcg_at_10"])
    rec = ResultRecord.from_json(raw)
    assert rec.item_scores == ["ndcg_at_10"] and "item_scores" not in rec.extra
    assert rec.to_json() == raw
    assert "item_scores" not in ResultRecord.from_json(_file()).to_json()


@pytest.mark.parametrize("over,field,message", [
    ({"item_scores": "ndcg_at_10"}, "item_scores", "expected a list"),
    ({"item_scores": ["ndcg_at_10", 3]}, "item_scores[1]", "expected a string"),
    ({"metrics": {"ndcg_at_10": True}}, "metrics.ndcg_at_10", "expected a number or null, got bool"),
    ({"task_kind": 3}, "task_kind", "expected a string"),
    ({"meta": []}, "meta", "expected a mapping"),
])
def test_the_file_model_names_the_field(over, field, message):
    with pytest.raises(InputError, match=message) as info:
        ResultRecord.from_json(_file(**over), "r.json")
    assert info.value.field == field and "r.json" in str(info.value)


def test_the_file_model_keeps_numpy_metrics_and_null_tables():
    rec = ResultRecord.from_json(_file(metrics={"ndcg_at_10": np.float32(0.5)}, per_query=None, meta=None))
    assert rec.metrics == {"ndcg_at_10": 0.5} and rec.items == {} and rec.meta.to_json() == {}
    assert set(ResultFile.model_fields) >= {"task", "metrics", "per_query", "per_item", "meta", "item_scores"}


def test_one_reader_for_folders_files_and_records(tmp_path):
    from lmkbench.errors import LmkbenchError

    (tmp_path / "a.json").write_text(json.dumps(_file()))
    folder = load_results(tmp_path)
    assert [r.path.name for r in folder] == ["a.json"] and read_result(tmp_path / "a.json").key == folder[0].key
    assert load_results(folder) == folder and load_results(folder[0]) == folder
    (tmp_path / "empty").mkdir()
    with pytest.raises(LmkbenchError, match="no lmkbench result files under"):
        load_results(tmp_path / "empty")
    import lmkbench

    assert lmkbench.load_results is load_results
