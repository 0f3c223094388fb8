"""BM25 reference cells (--model bm25) against bm25s called directly; evidence depth; depth × length buckets."""
from __future__ import annotations

import json
import random

import bm25s
import numpy as np
import pytest

from lmkbench.bm25 import BM25
from lmkbench.cli import main
from lmkbench.evidence import evidence_depth, passages
from lmkbench.results import iter_results
from lmkbench.stats import buckets as bk

DOCS = ["The cat sat on the mat with another cat.", "Dogs chase cats in the park every morning.",
        "A quick brown fox jumps over the lazy dog.", "Cats and dogs living together: mass hysteria!", "",
        "Stock markets crashed as investors sold shares."]
QUERIES = ["cat dog", "fox jumping", "market shares crash", "nothing matches zzz"]


@pytest.mark.parametrize("stemmer", ["english", "none"])
def test_scores_equal_bm25s_called_directly(stemmer):
    ours = BM25(f"bm25:stemmer={stemmer}").index(DOCS)
    stem = None
    if stemmer == "english":
        Stemmer = pytest.importorskip("Stemmer")
        stem = Stemmer.Stemmer("english").stemWords
    ref = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
    ref.index(bm25s.tokenize(DOCS, stopwords="en", stemmer=stem, show_progress=False), show_progress=False)
    for q in QUERIES:
        qtok = bm25s.tokenize([q], stopwords="en", stemmer=stem, return_ids=False, show_progress=False)[0]
        np.testing.assert_allclose(ours.scores(q), ref.get_scores(qtok), rtol=1e-6, atol=1e-7)
    assert ours.scores("cat dog")[0] > 0 and ours.scores("nothing matches zzz").max() == 0
    s, i = ours.top_k(QUERIES, k=3)
    for r, q in enumerate(QUERIES):
        full = ours.scores(q)
        assert i[r].tolist() == np.argsort(-full, kind="stable")[:3].tolist()


def test_run_bm25_writes_an_ordinary_cell(tiny_beir, tmp_path):
    assert main(["run", "--model", "bm25", "--task", f"beir:{tiny_beir}", "--out", str(tmp_path), "--quiet"]) == 0
    (rec,) = list(iter_results(tmp_path))
    assert rec.model == "bm25" and rec.pooling == "bm25"
    assert rec.meta.bm25["method"] == "lucene" and rec.meta.get("length_tokenizer") == "minilm"
    docs = [json.loads(line) for line in open(tiny_beir / "corpus.jsonl")]
    texts = [f"{d['title']} {d['text']}".strip() for d in docs]
    ref = BM25().index(texts)
    run = {}
    for line in open(next(tmp_path.rglob("*.trec"))):
        q, _, d, rank, score, _ = line.split()
        run.setdefault(q, []).append(d)
    q0 = rec.items["q0"]
    assert q0["length"] > 0 and q0["evidence_depth_estimated"] is True and 0 <= q0["evidence_depth"] <= 1
    assert rec.items["q4"]["ndcg_at_10"] == 1.0  # "mountain hiking trail" finds its only document
    scores = ref.scores("what about solar power panels?")  # the run file ranks as bm25s does
    assert run["q0"] == [docs[j]["_id"] for j in np.argsort(-scores, kind="stable") if scores[j] > 0]


def test_bm25_bad_arguments_exit_2(tiny_beir, tmp_path, capsys):
    assert main(["run", "--model", "bm25", "--pooling", "mean", "--task", f"beir:{tiny_beir}", "--out", str(tmp_path)]) == 2
    assert main(["run", "--model", "bm25:k1=abc", "--task", f"beir:{tiny_beir}", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "takes no --pooling" in err and "k1" in err


@pytest.mark.parametrize("true", [0.05, 0.3, 0.5, 0.77, 0.95])
def test_evidence_depth_finds_a_planted_sentence(true):
    rng = random.Random(int(true * 100))
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda omicron".split()
    filler = [" ".join(rng.choice(words) for _ in range(12)) + "." for _ in range(300)]
    filler.insert(int(true * 300), "The lighthouse keeper hid the password marmalade under the stairs.")
    doc = " ".join(filler)
    at = doc.index("The lighthouse")
    got = evidence_depth("where did the lighthouse keeper hide the password?", doc)
    assert abs(got - at / len(doc)) < 64 * 8 / len(doc)  # within one passage of the truth
    assert evidence_depth("zebra quokka", doc) is None


def test_passages_cover_the_text():
    text = " ".join(f"w{i}" for i in range(130))
    spans = passages(text, 64)
    assert len(spans) == 3 and spans[0][0] == 0 and spans[-1][1] == len(text)
    assert text[spans[1][0]:spans[1][1]].split()[0] == "w64"


def test_depth_buckets_use_the_estimate_and_cross_with_length():
    items = {"a": {"length": 100, "evidence_depth": 0.1}, "b": {"length": 700, "evidence_depth": 0.9},
             "c": {"length": 700, "evidence_depth": None}, "d": {"length": 100, "depth": 0.5, "evidence_depth": 0.9}}
    grid = bk.grid((0, 512, bk.INF), with_depth=bk.has_depth(items), estimated=True, cross=True)
    got = {b.label: ids for b, ids in bk.assign(items, grid).items()}
    assert got["est. depth 0-0.2"] == ["a"] and got["est. depth 0.8-1"] == ["b"] and got["est. depth 0.4-0.6"] == ["d"]
    assert got["0-512 × est. depth 0-0.2"] == ["a"] and got["512+ × est. depth 0.8-1"] == ["b"]
    assert got["512+ × est. depth 0-0.2"] == [] and "c" not in sum(
        (ids for b, ids in bk.assign(items, grid).items() if b.axis != "length" and b.axis != "all"), [])
    assert bk.depth_is_estimated({"a": items["a"]}) and not bk.depth_is_estimated(items)
