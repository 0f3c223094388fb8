"""Issue 2: the whole lmkbench retrieval evaluation agrees with ``mteb.evaluate`` on the same data and model.

mteb side: a custom local ``AbsTaskRetrieval`` (``load_data`` builds a ``RetrievalSplitData`` straight from
the BEIR files with ``json``/``csv``, independently of lmkbench's loader) and sentence-transformers'
``SentenceTransformer`` as the model (its own tokenizer call, batching and mean pooling; independent of
lmkbench's encoder); mteb searches, ranks and scores with pytrec_eval. lmkbench side: ``lmkbench run`` with
``--pooling mean`` and the same maximum length. Per-query NDCG@10 comes from mteb's
``task_specific_scores`` hook (pytrec_eval's per-query dict).

Tolerance 1e-4 (mean and per query): both sides compute the same fp32 function, but batching and padding
differ (sentence-transformers pads to the longest text of a batch of 32, lmkbench to a token budget), which
moves cosine scores by ~1e-7; NDCG@10 only changes if two candidates' scores are that close (a swap of
near-ties), which does not happen on these sets.
"""
from __future__ import annotations

import csv
import json
import random

import numpy as np
import pytest

from _support import minilm_path, shared_data

mteb = pytest.importorskip("mteb")
st_mod = pytest.importorskip("sentence_transformers")


from lmkbench.cli import main  # noqa: E402
from lmkbench.mteb_adapter import local_beir_task  # noqa: E402
from lmkbench.results import iter_results  # noqa: E402

TOL = 1e-4


def local_retrieval_task(folder):
    """The custom mteb task over a BEIR folder, keeping pytrec_eval's per-query NDCG@10."""
    return local_beir_task(folder, "LmkbenchAgreementRetrieval", keep_per_query=True)


def run_mteb(model, folder):
    task = local_retrieval_task(folder)
    result = mteb.evaluate(model, task, cache=None, show_progress_bar=False,
                           encode_kwargs={"batch_size": 32, "show_progress_bar": False})
    return result.task_results[0].scores["test"][0]["ndcg_at_10"], task.per_query


def run_lmkbench(model, folder, out, max_length):
    assert main(["run", "--model", model, "--pooling", "mean", "--task", f"beir:{folder}", "--out", str(out),
                 "--max-length", str(max_length), "--no-cache", "--quiet"]) == 0
    (rec,) = list(iter_results(out))
    return rec.metrics["ndcg_at_10"], {q: v["ndcg_at_10"] for q, v in rec.items.items()}


def assert_agree(ours, theirs):
    (our_mean, our_pq), (mteb_mean, mteb_pq) = ours, theirs
    assert set(our_pq) == set(mteb_pq), "both evaluate the same queries (those with a relevant document)"
    worst = max(abs(our_pq[q] - mteb_pq[q]) for q in our_pq)
    assert worst <= TOL, f"largest per-query NDCG@10 difference {worst:.2e}"
    assert our_mean == pytest.approx(mteb_mean, abs=TOL)
    # and the mean mteb reports is the mean of its own per-query values (what we compared)
    assert mteb_mean == pytest.approx(float(np.mean(list(mteb_pq.values()))), abs=1e-5)


def sentence_transformer(path, max_seq_length):
    st = st_mod.SentenceTransformer(path, device="cpu")
    st.max_seq_length = max_seq_length
    return st


def test_tiny_bert_on_tiny_beir_agrees_with_mteb(tiny_bert, tiny_beir, tmp_path):
    """No shared data needed: a random 2-layer BERT, mean pooling (sentence-transformers' default module)."""
    st = sentence_transformer(tiny_bert, 128)
    assert st[1].get_config_dict()["pooling_mode"] == "mean"
    theirs = run_mteb(st, tiny_beir)
    ours = run_lmkbench(tiny_bert, tiny_beir, tmp_path / "res", 128)
    assert len(ours[1]) == 8       # q0..q7 judged; qx has no qrels; both sides drop it
    assert_agree(ours, theirs)


def scifact_subset(src, dst, n_queries=50, n_other=150, seed=0):
    """50 seeded test queries, every relevant abstract, and 150 seeded other abstracts (< 60 s on 2 cores)."""
    rows = {}
    with open(src / "corpus.jsonl", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            rows[str(r["_id"])] = line
    qrels: dict[str, dict[str, str]] = {}
    with open(src / "qrels" / "test.tsv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = row["score"]
    rng = random.Random(seed)
    qids = rng.sample(sorted(qrels), n_queries)
    relevant = sorted({d for q in qids for d in qrels[q]})
    others = rng.sample(sorted(set(rows) - set(relevant)), n_other)
    (dst / "qrels").mkdir(parents=True)
    with open(dst / "corpus.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(rows[d] for d in relevant + others)
    with open(src / "queries.jsonl", encoding="utf-8") as fin, open(dst / "queries.jsonl", "w", encoding="utf-8") as fout:
        fout.writelines(line for line in fin if str(json.loads(line)["_id"]) in set(qids))
    with open(dst / "qrels" / "test.tsv", "w", encoding="utf-8") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        fh.writelines(f"{q}\t{d}\t{g}\n" for q in qids for d, g in qrels[q].items())
    return dst, len(relevant) + n_other


@pytest.mark.slow
def test_minilm_on_scifact_subset_agrees_with_mteb(tmp_path):
    """The real all-MiniLM-L6-v2 (sentence-transformers' max_seq_length 256; ours --max-length 256)."""
    folder, n_docs = scifact_subset(shared_data("scifact"), tmp_path / "scifact_sub")
    assert n_docs >= 200
    st = sentence_transformer(minilm_path(), 256)
    theirs = run_mteb(st, folder)
    ours = run_lmkbench(minilm_path(), folder, tmp_path / "res", 256)
    assert len(ours[1]) == 50
    assert 0.4 < ours[0] < 0.9     # a real model on real data (MiniLM scores ~0.65 on full SciFact)
    assert_agree(ours, theirs)
