"""The real MiniLM on real SciFact: lmkbench's NDCG@10 equals sentence-transformers + pytrec_eval.

An independent reference: sentence-transformers encodes (its own tokenization, batching and mean
pooling), numpy ranks, pytrec_eval scores. Runs on a deterministic SciFact subset (60 test queries,
their relevant abstracts and 340 other abstracts) to keep CI fast; the full-set figure is in the README.
"""
from __future__ import annotations

import json
import random

import numpy as np
import pytest

from _support import minilm_path, shared_data

pytestmark = pytest.mark.slow


def _subset(src, dst, n_queries=60, n_other=340, seed=0):
    from lmkbench.data.beir import load_beir_folder

    data = load_beir_folder(src, "test")
    rng = random.Random(seed)
    qids = sorted(data.qrels)
    qids = rng.sample(qids, n_queries)
    rel = {d for q in qids for d in data.qrels[q]}
    others = rng.sample(sorted(set(data.corpus) - rel), n_other)
    (dst / "qrels").mkdir(parents=True)
    with open(dst / "corpus.jsonl", "w") as fh:
        for d in sorted(rel) + others:
            t, x = data.corpus[d]
            fh.write(json.dumps({"_id": d, "title": t, "text": x}) + "\n")
    with open(dst / "queries.jsonl", "w") as fh:
        for q in qids:
            fh.write(json.dumps({"_id": q, "text": data.queries[q]}) + "\n")
    with open(dst / "qrels" / "test.tsv", "w") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        for q in qids:
            for d, g in data.qrels[q].items():
                fh.write(f"{q}\t{d}\t{g}\n")
    return dst


def test_mean_pooling_ndcg_equals_sentence_transformers_plus_pytrec_eval(tmp_path):
    pytrec_eval = pytest.importorskip("pytrec_eval")
    st_mod = pytest.importorskip("sentence_transformers")
    folder = _subset(shared_data("scifact"), tmp_path / "scifact_sub")
    from lmkbench.cli import main
    from lmkbench.data.beir import load_beir_folder
    from lmkbench.results import iter_results

    out = tmp_path / "res"
    assert main(["run", "--model", "minilm", "--pooling", "mean", "--task", f"beir:{folder}", "--out", str(out),
                 "--max-length", "256", "--no-cache", "--quiet"]) == 0
    (rec,) = list(iter_results(out))

    data = load_beir_folder(folder)
    st = st_mod.SentenceTransformer(minilm_path(), device="cpu")
    st.max_seq_length = 256
    doc_ids = list(data.corpus)
    qids = list(data.queries)
    d = st.encode([data.doc_text(x) for x in doc_ids], batch_size=32, normalize_embeddings=True)
    q = st.encode([data.queries[x] for x in qids], batch_size=32, normalize_embeddings=True)
    scores = q @ d.T
    run = {}
    for i, qid in enumerate(qids):
        top = np.argsort(-scores[i])[:100]
        run[qid] = {doc_ids[j]: float(scores[i, j]) for j in top}
    ref = pytrec_eval.RelevanceEvaluator(data.qrels, {"ndcg_cut.10"}).evaluate(run)
    ref_mean = float(np.mean([v["ndcg_cut_10"] for v in ref.values()]))
    # identical up to fp32 noise between two batchings of the same model (rank swaps of near-ties only)
    assert rec.metrics["ndcg_at_10"] == pytest.approx(ref_mean, abs=2e-3)
    same = sum(abs(rec.items[q]["ndcg_at_10"] - ref[q]["ndcg_cut_10"]) < 1e-6 for q in ref)
    assert same >= len(ref) - 2
