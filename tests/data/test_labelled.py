"""Labelled jsonl loading (strict errors, counts on the real sets) and the seeded stratified split."""
from __future__ import annotations

import gzip
import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from lmkbench.data.labelled import load_labelled_jsonl, stratified_split
from lmkbench.errors import InputError, LmkbenchError

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"   # <repo>/../shared/data


def _write(path: Path, rows, *, raw_lines=()):
    lines = [json.dumps(r) for r in rows] + list(raw_lines)
    data = ("\n".join(lines) + "\n").encode()
    if path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


ROWS = [
    {"_id": "a", "text": "first", "label": "x", "split": "train"},
    {"_id": "b", "text": "", "label": "y", "split": "test"},
    {"_id": "c", "text": "third", "label": "x", "split": "test"},
]


@pytest.mark.parametrize("name", ["set.jsonl", "set.jsonl.gz"])
def test_loads_rows_splits_and_checksum(tmp_path, name):
    path = _write(tmp_path / name, ROWS)
    data = load_labelled_jsonl(path)
    assert data.name == "set"
    assert data.ids == ["a", "b", "c"] and data.texts == ["first", "", "third"] and data.labels == ["x", "y", "x"]
    assert data.splits == {"train": [0], "test": [1, 2]} and data.eval_split == "test"
    assert data.info["empty_texts"] == 1 and data.info["has_split_field"] and data.info["train_split"] == "train"
    assert data.checksums == {str(path): hashlib.sha256(path.read_bytes()).hexdigest()}


def test_without_split_field_every_row_is_eval_and_ids_default_to_lines(tmp_path):
    path = _write(tmp_path / "s.jsonl", [{"text": "a", "label": 1}, {"text": "b", "label": 2}])
    data = load_labelled_jsonl(path, eval_split="all")
    assert data.splits == {"all": [0, 1]} and data.eval_split == "all"
    assert data.ids == ["line1", "line2"] and data.labels == ["1", "2"]
    assert data.info["has_split_field"] is False and data.info["train_split"] is None


def test_title_field_is_joined(tmp_path):
    rows = [{"title": "Stocks fall", "text": "Markets slid.", "label": "b"},
            {"title": "Why?", "text": "Because.", "label": "b"},
            {"title": "", "text": "Only body.", "label": "b"}]
    data = load_labelled_jsonl(_write(tmp_path / "t.jsonl", rows), title_field="title")
    assert data.texts == ["Stocks fall. Markets slid.", "Why? Because.", "Only body."]


@pytest.mark.parametrize("row, field, reason", [
    ({"label": "x"}, "text", "missing"),
    ({"text": 5, "label": "x"}, "text", "expected a string"),
    ({"text": None, "label": "x"}, "text", "expected a string"),
    ({"text": "t"}, "label", "missing"),
    ({"text": "t", "label": ""}, "label", "empty"),
    ({"text": "t", "label": ["x"]}, "label", "expected a string"),
    ({"text": "t", "label": "x", "split": 3}, "split", "expected a non-empty string"),
    ({"text": "t", "label": "x", "_id": 1.5}, "_id", "expected a string or integer id"),
])
def test_bad_rows_name_file_line_and_field(tmp_path, row, field, reason):
    path = _write(tmp_path / "bad.jsonl", [{"text": "ok", "label": "x", "split": "test"} if field == "split"
                                           else {"text": "ok", "label": "x"}, row])
    with pytest.raises(InputError) as exc:
        load_labelled_jsonl(path)
    err = exc.value
    assert (err.file, err.line, err.field) == (path, 2, field)
    assert reason in err.reason and f"{path}:2: field '{field}'" in str(err)


def test_malformed_json_duplicate_ids_and_partial_split(tmp_path):
    path = _write(tmp_path / "m.jsonl", [{"text": "a", "label": "x"}], raw_lines=['{"text": "b", '])
    with pytest.raises(InputError, match=r"m.jsonl:2: malformed JSON"):
        load_labelled_jsonl(path)
    path = _write(tmp_path / "d.jsonl", [{"_id": "1", "text": "a", "label": "x"}, {"_id": 1, "text": "b", "label": "x"}])
    with pytest.raises(InputError, match="duplicate id '1'") as exc:
        load_labelled_jsonl(path)
    assert exc.value.line == 2 and exc.value.field == "_id"
    path = _write(tmp_path / "p.jsonl", [{"text": "a", "label": "x", "split": "test"}, {"text": "b", "label": "x"}])
    with pytest.raises(InputError, match="other rows have it") as exc:
        load_labelled_jsonl(path)
    assert exc.value.line == 2 and exc.value.field == "split"
    path = _write(tmp_path / "e.jsonl", [{"text": "a", "label": "x", "split": "dev"}])
    with pytest.raises(LmkbenchError, match="eval split 'test' not found"):
        load_labelled_jsonl(path)
    with pytest.raises(InputError, match="no rows"):
        load_labelled_jsonl(_write(tmp_path / "empty.jsonl", []))
    with pytest.raises(InputError, match="file not found"):
        load_labelled_jsonl(tmp_path / "absent.jsonl")


def test_stratified_split_keeps_proportions_and_is_seeded():
    labels = ["a"] * 50 + ["b"] * 31 + ["c"] * 7 + ["d"] * 2 + ["e"]
    split = stratified_split(labels, 0.3, seed=3)
    train, test = split["train"], split["test"]
    assert sorted(train + test) == list(range(len(labels))) and not set(train) & set(test)
    per_label = Counter(labels[i] for i in test)
    assert per_label == {"a": 15, "b": 9, "c": 2, "d": 1}      # round(n * 0.3); a pair is split 1/1
    assert stratified_split(labels, 0.3, seed=3) == split
    assert stratified_split(labels, 0.3, seed=4) != split
    with pytest.raises(LmkbenchError):
        stratified_split(labels, 1.0, seed=0)


def test_stratified_split_keeps_groups_together():
    labels = ["a"] * 40 + ["b"] * 40
    groups = [i // 2 for i in range(80)]                 # pairs of duplicates
    for seed in range(5):
        split = stratified_split(labels, 0.5, seed, groups=groups)
        side = {i: "test" for i in split["test"]} | {i: "train" for i in split["train"]}
        assert all(side[2 * g] == side[2 * g + 1] for g in range(40))
        assert Counter(labels[i] for i in split["test"]) == {"a": 20, "b": 20}
    with pytest.raises(LmkbenchError, match="mixes labels"):
        stratified_split(["a", "b"], 0.5, 0, groups=[0, 0])


def _shared(rel: str) -> Path:
    path = SHARED / rel
    if not path.exists():
        pytest.skip(f"../shared/data not present (fresh clone): {rel}")
    return path


def test_real_banking77_counts():
    data = load_labelled_jsonl(_shared("banking77/banking77.jsonl"))
    assert len(data.ids) == 13083 and data.info["split_sizes"] == {"train": 10003, "test": 3080}
    assert len(set(data.labels)) == 77 and data.info["empty_texts"] == 0
    assert set(Counter(data.labels[i] for i in data.splits["test"]).values()) == {40}


def test_real_ag_news_counts_with_titles():
    data = load_labelled_jsonl(_shared("ag_news_test/ag_news_test.jsonl"), title_field="title")
    assert len(data.ids) == 7600 and data.splits == {"test": list(range(7600))}
    assert data.info["labels"] == {"Business": 1900, "Sci/Tech": 1900, "Sports": 1900, "World": 1900}
    assert data.texts[0].startswith("Fears for T N pension after talks. Unions representing")
    split = stratified_split(data.labels, 0.5, seed=0)
    assert set(Counter(data.labels[i] for i in split["test"]).values()) == {950}


def test_real_mini_newsgroups_subjects_and_bodies():
    path = _shared("mini_newsgroups/mini_newsgroups.jsonl")
    subjects = load_labelled_jsonl(path, text_field="subject", name="mini_newsgroups_subject")
    bodies = load_labelled_jsonl(path)
    for data in (subjects, bodies):
        assert len(data.ids) == 2000 and len(data.info["labels"]) == 20
        assert set(data.info["labels"].values()) == {100}
        assert data.ids[0] == "alt.atheism/51121"
    assert subjects.name == "mini_newsgroups_subject" and subjects.info["empty_texts"] == 0
    assert bodies.info["empty_texts"] == 1            # one message has an empty body (kept, counted)
    assert subjects.texts[0].startswith("Re: ")
