"""BEIR folders: happy path, .gz, and one clear error per kind of bad input."""
from __future__ import annotations

import gzip
import shutil

import pytest

from lmkbench.data.beir import load_beir_folder
from lmkbench.errors import InputError


def test_loads_and_counts(tiny_beir):
    data = load_beir_folder(tiny_beir)
    assert len(data.corpus) == 10 and len(data.queries) == 8  # the unjudged query is dropped
    assert data.info["empty_docs"] == 1
    assert data.qrels["q0"] == {"d0": 1, "d1": 2}
    assert set(data.checksums) == {"corpus.jsonl", "queries.jsonl", "qrels/test.tsv"}
    assert data.doc_text("d0").startswith("Solar Power Panels This document")


def test_reads_gzipped_jsonl(tiny_beir):
    for stem in ("corpus", "queries"):
        src = tiny_beir / f"{stem}.jsonl"
        with open(src, "rb") as a, gzip.open(str(src) + ".gz", "wb") as b:
            shutil.copyfileobj(a, b)
        src.unlink()
    assert len(load_beir_folder(tiny_beir).corpus) == 10


def _expect(folder, match, **where):
    with pytest.raises(InputError, match=match) as info:
        load_beir_folder(folder)
    for k, v in where.items():
        assert getattr(info.value, k) == v, (k, str(info.value))
    return info.value


def test_malformed_jsonl_line_names_file_and_line(tiny_beir):
    p = tiny_beir / "corpus.jsonl"
    lines = p.read_text().splitlines()
    lines[2] = '{"_id": "x", "text": '
    p.write_text("\n".join(lines) + "\n")
    err = _expect(tiny_beir, "malformed JSON", line=3)
    assert "corpus.jsonl:3" in str(err)


def test_missing_field(tiny_beir):
    p = tiny_beir / "queries.jsonl"
    p.write_text(p.read_text() + '{"_id": "q9"}\n')
    _expect(tiny_beir, "missing", line=10, field="text")


def test_qrel_with_unknown_document(tiny_beir):
    p = tiny_beir / "qrels" / "test.tsv"
    p.write_text(p.read_text() + "q1\tnope\t1\n")
    err = _expect(tiny_beir, "unknown document id 'nope'", field="corpus-id")
    assert err.line == 11


def test_qrel_with_unknown_query(tiny_beir):
    p = tiny_beir / "qrels" / "test.tsv"
    p.write_text(p.read_text() + "q77\td1\t1\n")
    _expect(tiny_beir, "unknown query id 'q77'", field="query-id", line=11)


def test_bad_score_and_columns(tiny_beir):
    p = tiny_beir / "qrels" / "test.tsv"
    p.write_text(p.read_text() + "q1\td1\tmaybe\n")
    _expect(tiny_beir, "not a number", field="score", line=11)
    p.write_text("query-id\tcorpus-id\tscore\nq1 d1\n")
    _expect(tiny_beir, "3 tab-separated columns", line=2)


def test_empty_corpus_and_missing_files(tiny_beir):
    (tiny_beir / "corpus.jsonl").write_text("\n")
    _expect(tiny_beir, "empty corpus")
    (tiny_beir / "corpus.jsonl").unlink()
    _expect(tiny_beir, "missing corpus.jsonl")
    with pytest.raises(InputError, match="BEIR folder not found"):
        load_beir_folder(tiny_beir.parent / "nope")


def test_missing_split(tiny_beir):
    with pytest.raises(InputError, match="no qrels for split 'dev' \\(available: test\\)"):
        load_beir_folder(tiny_beir, "dev")


def test_duplicate_ids(tiny_beir):
    p = tiny_beir / "corpus.jsonl"
    p.write_text(p.read_text() + '{"_id": "d0", "text": "again"}\n')
    _expect(tiny_beir, "duplicate document id", field="_id", line=11)
