"""Training data sources: jsonl pairs, BEIR splits (+ TF-IDF negatives), hf datasets; located errors."""
from __future__ import annotations

import json

import pytest

from lmkbench.errors import InputError, LmkbenchError
from lmkbench.train.data import load_training_data, parse_hf_source


def _write(path, rows):
    with open(path, "w") as fh:
        for r in rows:
            fh.write((r if isinstance(r, str) else json.dumps(r)) + "\n")
    return path


def test_jsonl_rows_with_negatives_and_scores(tmp_path):
    p = _write(tmp_path / "p.jsonl", [{"query": "q1", "positive": "d1", "negatives": ["n1", "n2"], "scores": [3, 1, 0]},
                                      "", {"query": "q2", "positive": "d2"}])
    data = load_training_data(str(p))
    assert [e.query for e in data.examples] == ["q1", "q2"]
    assert data.examples[0].negatives == ["n1", "n2"] and data.examples[0].scores == [3.0, 1.0, 0.0]
    assert data.examples[1].negatives == [] and data.examples[1].scores is None
    assert data.checksums["p.jsonl"] and data.info["n_with_scores"] == 1
    capped = load_training_data(f"jsonl:{p}", hard_negatives=1)
    assert capped.examples[0].negatives == ["n1"] and capped.examples[0].scores == [3.0, 1.0]


@pytest.mark.parametrize("row,line_field", [
    ({"positive": "d"}, "query"),
    ({"query": "q", "positive": ""}, "positive"),
    ({"query": "q", "positive": 5}, "positive"),
    ({"query": "q", "positive": "d", "negatives": {"a": 1}}, "negatives"),
    ({"query": "q", "positive": "d", "negatives": ["ok", 3]}, "negatives"),
    ({"query": "q", "positive": "d", "negatives": ["n"], "scores": [1.0]}, "scores"),
    ({"query": "q", "positive": "d", "scores": ["high"]}, "scores"),
])
def test_bad_rows_name_line_and_field(tmp_path, row, line_field):
    p = _write(tmp_path / "bad.jsonl", [{"query": "fine", "positive": "fine"}, row])
    with pytest.raises(InputError) as exc:
        load_training_data(str(p))
    assert exc.value.line == 2 and exc.value.field == line_field
    assert f"bad.jsonl:2: field '{line_field}'" in str(exc.value)


def test_malformed_json_and_missing_file(tmp_path):
    p = _write(tmp_path / "m.jsonl", [{"query": "a", "positive": "b"}, "{not json"])
    with pytest.raises(InputError, match=r"m.jsonl:2: malformed JSON"):
        load_training_data(str(p))
    with pytest.raises(InputError, match="training data not found"):
        load_training_data(str(tmp_path / "absent.jsonl"))
    with pytest.raises(InputError, match="beir:PATH#train"):
        load_training_data(str(tmp_path))


def test_beir_split_gives_one_pair_per_relevant_document(tiny_beir):
    data = load_training_data(f"beir:{tiny_beir}#test")
    assert len(data.examples) == 9                    # 8 queries, q0 has two relevant documents
    q0 = [e for e in data.examples if e.query == "what about solar power panels?"]
    assert len(q0) == 2 and q0[0].other_positives == q0[1].other_positives == {q0[0].positive, q0[1].positive}
    assert "qrels/test.tsv" in data.checksums
    with pytest.raises(InputError, match="no qrels for split 'train'"):
        load_training_data(f"beir:{tiny_beir}")       # default split is train


def test_beir_tfidf_negatives_exclude_relevant_documents(tiny_beir):
    data = load_training_data(f"beir:{tiny_beir}#test", hard_negatives=2)
    for ex in data.examples:
        assert len(ex.negatives) == 2
        assert not set(ex.negatives) & ex.other_positives
    # the lexically closest non-relevant document of "stock market crash" shares no topic, but the
    # mined list is deterministic
    again = load_training_data(f"beir:{tiny_beir}#test", hard_negatives=2)
    assert [e.negatives for e in again.examples] == [e.negatives for e in data.examples]


def test_hf_source_through_load_dataset(monkeypatch):
    import datasets

    rows = [{"anchor": "q1", "positive": "d1", "negative": "n1"}, {"anchor": "q2", "positive": "d2", "negative": "n2"}]
    calls = []

    def fake_load(name, config=None, split=None):
        calls.append((name, config, split))
        return datasets.Dataset.from_list(rows)

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    data = load_training_data("hf:sentence-transformers/msmarco-bm25@triplet#train")
    assert calls == [("sentence-transformers/msmarco-bm25", "triplet", "train")]
    assert [(e.query, e.positive, e.negatives) for e in data.examples] == [("q1", "d1", ["n1"]), ("q2", "d2", ["n2"])]
    assert data.info["hf_config"] == "triplet"

    rows.append({"anchor": "", "positive": "d3", "negative": "n3"})
    with pytest.raises(InputError) as exc:
        load_training_data("hf:some/set")
    assert exc.value.line == 3 and exc.value.field == "anchor"

    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: datasets.Dataset.from_list([{"text": "x"}]))
    with pytest.raises(InputError, match="no query column"):
        load_training_data("hf:some/set")


def test_hf_source_errors_are_one_line(monkeypatch):
    import datasets

    def offline(*a, **k):
        raise ConnectionError("Couldn't reach the Hugging Face Hub\nsecond line")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(LmkbenchError, match="cannot load hf:x/y: Couldn't reach"):
        load_training_data("hf:x/y")
    assert parse_hf_source("hf:a/b") == ("a/b", None, "train")
