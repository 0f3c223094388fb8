"""crop: and ict: training pairs from a local corpus: hand-computed on a tiny corpus, deterministic, streamed from
BEIR folders, jsonl files and .txt folders, recorded with checksums, bad rows as file:line errors."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from lmkbench.errors import InputError, LmkbenchError
from lmkbench.train import load_training_data, train
from lmkbench.train.unsupervised import parse_source

WORDS = "w0 w1 w2 w3 w4 w5 w6 w7 w8 w9".split()
DOCS = ["First sentence here is long. Second one follows it now! A third closes this document?",
        "Only one sentence lives in this document.",
        " ".join(WORDS)]


@pytest.fixture()
def txt_corpus(tmp_path):
    folder = tmp_path / "txt"
    folder.mkdir()
    for i, d in enumerate(DOCS):
        (folder / f"d{i}.txt").write_text(d + "\n")
    return folder


@pytest.fixture()
def beir_corpus(tmp_path):
    folder = tmp_path / "beir"
    folder.mkdir()
    with open(folder / "corpus.jsonl", "w") as fh:
        for i, d in enumerate(DOCS):
            fh.write(json.dumps({"_id": f"d{i}", "title": "", "text": d}) + "\n")
    return folder


def test_crop_matches_a_hand_computation(txt_corpus):
    # ratio fixed at 0.5, spans clamped up to min_words=10: each span is 10 words from rng.integers(0, n - 9)
    data = load_training_data(f"crop:{txt_corpus}?ratio_min=0.5&ratio_max=0.5&min_words=10&seed=3")
    assert data.info["docs_read"] == 3 and data.info["docs_skipped"] == 1   # the 7-word document
    want = []
    for index, doc in ((0, DOCS[0]), (2, DOCS[2])):
        words = doc.split()
        rng = np.random.default_rng([3, index, 0])      # seed, document index, pair index
        spans = []
        for _ in range(2):                               # query span, then positive span, independent
            rng.uniform(0.5, 0.5)
            start = int(rng.integers(0, len(words) - 10 + 1))
            spans.append(" ".join(words[start:start + 10]))
        want.append(tuple(spans))
    assert [(ex.query, ex.positive) for ex in data.examples] == want
    assert want[1] == (" ".join(WORDS),) * 2             # a 10-word document is its own 10-word span
    assert all(len(span.split()) == 10 for pair in want for span in pair)


def test_crop_spans_are_contiguous_word_spans_of_their_document(txt_corpus):
    data = load_training_data(f"crop:{txt_corpus}?ratio_min=0.3&ratio_max=0.5&min_words=2&per_doc=4&seed=1")
    assert len(data.examples) == 12
    for ex in data.examples:
        doc = next(d for d in DOCS if ex.positive in " ".join(d.split()))
        words = doc.split()
        for span in (ex.query, ex.positive):
            n = len(span.split())
            assert max(2, int(len(words) * 0.3)) <= n <= max(2, int(len(words) * 0.5))
            assert span in " ".join(words)
    first = data.examples[8:12]                          # the four pairs of the 10-word document
    assert all(ex.other_positives == frozenset(e.positive for e in first) for ex in first)


def test_ict_matches_a_hand_computation(txt_corpus):
    data = load_training_data(f"ict:{txt_corpus}?seed=5&min_words=3")
    sentences = ["First sentence here is long.", "Second one follows it now!", "A third closes this document?"]
    i = int(np.random.default_rng([5, 0, 0]).integers(0, 3))
    assert len(data.examples) == 1                       # one-sentence and sentence-less documents are skipped
    ex = data.examples[0]
    assert ex.query == sentences[i]
    assert ex.positive == " ".join(s for j, s in enumerate(sentences) if j != i)


def test_ict_context_and_keep(txt_corpus):
    data = load_training_data(f"ict:{txt_corpus}?min_words=3&context=1&keep=1&per_doc=3")
    assert len(data.examples) == 3
    for ex in data.examples:
        assert ex.query in ex.positive                   # keep=1: the sentence stays in its context
    assert len({ex.query for ex in data.examples}) == 3  # distinct sentences per document


@pytest.mark.parametrize("method", ["crop", "ict"])
def test_deterministic_by_seed_and_the_same_from_every_layout(method, txt_corpus, beir_corpus, tmp_path):
    jsonl = tmp_path / "texts.jsonl"
    jsonl.write_text("".join(json.dumps({"text": d, "label": "x"}) + "\n" for d in DOCS))
    q = "min_words=2&per_doc=2&seed=7" + ("&ratio_min=0.2" if method == "crop" else "")
    pairs = {}
    for name, path in (("txt", txt_corpus), ("beir", beir_corpus), ("jsonl", jsonl)):
        data = load_training_data(f"{method}:{path}?{q}")
        pairs[name] = [(e.query, e.positive) for e in data.examples]
        assert pairs[name] == [(e.query, e.positive) for e in load_training_data(f"{method}:{path}?{q}").examples]
    assert pairs["txt"] == pairs["beir"] == pairs["jsonl"]
    other = load_training_data(f"{method}:{txt_corpus}?{q.replace('seed=7', 'seed=8')}")
    assert [(e.query, e.positive) for e in other.examples] != pairs["txt"]


def test_a_pair_depends_on_its_document_not_on_what_was_read_before(txt_corpus):
    full = load_training_data(f"crop:{txt_corpus}?min_words=2&seed=2")
    first_two = load_training_data(f"crop:{txt_corpus}?min_words=2&seed=2&max_docs=2")
    assert [(e.query, e.positive) for e in first_two.examples] == [(e.query, e.positive) for e in full.examples[:2]]
    assert first_two.info["docs_read"] == 2


def test_recorded_with_checksums_and_every_parameter(txt_corpus, beir_corpus):
    data = load_training_data(f"crop:{txt_corpus}?min_words=2")
    d = data.describe()
    assert d["source"].startswith(f"crop:{txt_corpus}?ratio_min=0.1&ratio_max=0.5&min_words=2&max_words=256")
    h = hashlib.sha256()
    for i in range(3):
        h.update(f"d{i}.txt\0{hashlib.sha256((DOCS[i] + chr(10)).encode()).hexdigest()}\n".encode())
    assert d["checksums"] == {"txt/*.txt (3 files)": h.hexdigest()}
    b = load_training_data(f"ict:{beir_corpus}").describe()
    assert b["checksums"] == {"corpus.jsonl": hashlib.sha256((beir_corpus / "corpus.jsonl").read_bytes()).hexdigest()}
    assert b["method"] == "ict" and b["corpus_kind"] == "beir"
    assert list(data.document_texts()) == [d + "\n" for d in DOCS]   # the source documents, for the overlap check


def test_bad_rows_and_bad_parameters_are_one_clear_error(tmp_path, txt_corpus):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine text here"}\n{"text": 3}\n')
    with pytest.raises(InputError, match=r"bad.jsonl:2: field 'text': expected a string"):
        load_training_data(f"crop:{bad}")
    beir = tmp_path / "b"
    beir.mkdir()
    (beir / "corpus.jsonl").write_text('{"_id": "a", "text": "x y z"}\n{"text": "no id"}\n')
    with pytest.raises(InputError, match=r"corpus.jsonl:2: field '_id': missing"):
        load_training_data(f"ict:{beir}")
    with pytest.raises(InputError, match="no ict pairs"):
        load_training_data(f"ict:{txt_corpus}?min_sentences=9")
    (txt_corpus / "bad.txt").write_bytes(b"fine\n\xff\xfe broken\n")
    with pytest.raises(InputError, match=r"bad.txt:2: not valid UTF-8"):
        load_training_data(f"crop:{txt_corpus}")
    with pytest.raises(LmkbenchError, match="bad value for 'ratio_min'"):
        parse_source(f"crop:{txt_corpus}?ratio_min=2")
    with pytest.raises(LmkbenchError, match=r"has no parameter 'ratoi_max' \(did you mean 'ratio_max'\?\)"):
        parse_source(f"crop:{txt_corpus}?ratoi_max=0.4")
    with pytest.raises(LmkbenchError, match="ratio_min 0.5 > ratio_max 0.2"):
        parse_source(f"crop:{txt_corpus}?ratio_min=0.5&ratio_max=0.2")
    with pytest.raises(InputError, match="corpus not found"):
        load_training_data(f"ict:{tmp_path / 'nowhere'}")


def test_train_on_crop_pairs(tiny_cfg, txt_corpus):
    res = train(tiny_cfg(data=f"crop:{txt_corpus}?min_words=2&per_doc=2", batch_size=2, steps=2))
    assert res.meta["data"]["method"] == "crop" and res.meta["data"]["n_examples"] == 6
    assert res.meta["data"]["checksums"]
