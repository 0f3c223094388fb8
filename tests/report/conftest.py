"""Fixture results for the report tests, written with lmkbench.results.write_result.

* ``longqa``: retrieval, long-document group, 120 queries over five length buckets; ``lmk:g=32`` ranks the
  gold document higher on long documents, ``cls`` lower everywhere. Its task source is a small BEIR folder
  (queries with ``<script>`` and other markup, qrels), so the report can load query texts from it.
* ``shortqa``: retrieval, 40 short queries, query texts stored in the per-query records (``query_text``).
* ``passkey_256`` … ``passkey_2048``: a synthetic family, 20 queries each with ``target_length`` and
  ``depth``, binary ``acc_at_1``.
* ``topics``: classification with binary per-item ``correct``.

Every retrieval result gets a TREC run in which the gold document sits exactly at the rank its per-query
metrics were computed from, so the drill-down's ranks can be checked.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from lmkbench.results import write_result

MODEL = "tiny-model"
POOLINGS = ("cls", "mean", "lmk:g=32")
from report_support import SCRIPT_QUERY, metrics_for_rank, run_with_gold  # noqa: E402,F401
LONG_LENGTHS = (200, 700, 1500, 3000, 6000)


def meta(task: str, source: str, pooling: str, evaluate_s: float = 0.5, **extra) -> dict:
    return {"lmkbench_task_source": source, "license": "CC BY 4.0", "model_path": "/models/tiny",
            "device": "cpu", "dtype": "fp32", "max_length": 512, "long_policy": "truncate",
            "truncated": {"corpus": 12}, "n_texts": {"queries": 120, "corpus": 300},
            "timings": {"load_s": 1.0, "encode_queries_s": 2.0, "encode_corpus_s": 10.0, "evaluate_s": evaluate_s},
            "versions": {"python": "3.11.2", "torch": "2.13.0", "lmkbench": "0.1.0"},
            "hardware": {"platform": "Linux-test", "cpu_count": 2, "device": "cpu", "cpu": "x86_64"},
            "git_commit": "abc123", "created": "2025-01-01T10:00:00+0000", **extra}


def _retrieval(out: Path, task: str, group: str, ranks: dict[str, dict[str, int | None]], lengths: dict[str, int],
               source: str, extra_items: dict[str, dict] | None = None, main: str = "ndcg_at_10",
               kind_meta: dict | None = None) -> None:
    for pooling, by_q in ranks.items():
        per_query, run = {}, {}
        for qid, rank in by_q.items():
            rec = metrics_for_rank(rank)
            rec.update({"length": lengths[qid], "lengths": [lengths[qid]], "truncated": lengths[qid] > 512})
            rec.update((extra_items or {}).get(qid, {}))
            per_query[qid] = rec
            run[qid] = run_with_gold(qid, f"d{qid}", rank)
        metrics = {m: float(np.mean([v[m] for v in per_query.values()]))
                   for m in ("ndcg_at_10", "mrr_at_10", "recall_at_100", "acc_at_1")}
        write_result(out, {"task": task, "task_kind": "retrieval", "task_group": group, "split": "test",
                           "model": MODEL, "pooling": pooling, "main_metric": main, "metrics": metrics,
                           "per_query": per_query, "meta": meta(task, source, pooling, **(kind_meta or {}))}, run)


def write_beir_folder(folder: Path, queries: dict[str, str]) -> Path:
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    with open(folder / "corpus.jsonl", "w") as fh:
        for qid in queries:
            fh.write(json.dumps({"_id": f"d{qid}", "title": "", "text": f"document for {qid}"}) + "\n")
    with open(folder / "queries.jsonl", "w") as fh:
        for qid, text in queries.items():
            fh.write(json.dumps({"_id": qid, "text": text}) + "\n")
    with open(folder / "qrels" / "test.tsv", "w") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        for qid in queries:
            fh.write(f"{qid}\td{qid}\t1\n")
    return folder


def write_fixture_results(root: Path, seed: int = 0) -> dict:
    """Write the fixture results under ``root / 'results'``; return what was written (ranks, texts, paths)."""
    rng = np.random.default_rng(seed)
    out = root / "results"
    info: dict = {"out": out, "ranks": {}}

    # longqa: 120 queries, 24 per length bucket
    qids = [f"L{i:03d}" for i in range(120)]
    lengths = {q: int(LONG_LENGTHS[i // 24] + rng.integers(0, 100)) for i, q in enumerate(qids)}
    texts = {q: f"long question number {i} about topic {i % 7}" for i, q in enumerate(qids)}
    texts["L005"] = SCRIPT_QUERY
    beir = write_beir_folder(root / "longqa", texts)
    base = rng.integers(1, 8, len(qids))
    ranks = {"mean": {}, "cls": {}, "lmk:g=32": {}}
    for i, q in enumerate(qids):
        long = lengths[q] >= 1024
        ranks["mean"][q] = int(base[i]) + (6 if long else 0)
        ranks["cls"][q] = int(base[i]) + 5 + (8 if long else 0)
        ranks["lmk:g=32"][q] = max(1, int(base[i]) - (1 if long else 0) + int(rng.integers(-1, 2)))
    ranks["cls"]["L007"] = None           # not retrieved at all
    ranks["lmk:g=32"]["L005"] = 1         # the <script> query: a big disagreement, shown in the drill-down
    ranks["cls"]["L005"] = 90
    ranks["mean"]["L005"] = 40
    _retrieval(out, "longqa", "long retrieval", ranks, lengths, f"beir:{beir}")
    info["ranks"]["longqa"] = ranks
    info["lengths"] = lengths
    info["texts"] = texts

    # shortqa: query texts stored in the results
    sq = [f"S{i:02d}" for i in range(40)]
    slen = {q: int(rng.integers(20, 400)) for q in sq}
    sranks = {p: {q: int(rng.integers(1, 12)) for q in sq} for p in POOLINGS}
    stored = {q: {"query_text": f"short query {q} <i>x</i>", "relevant": [f"d{q}"]} for q in sq}
    _retrieval(out, "shortqa", "short retrieval", sranks, slen, "beir:/nonexistent/shortqa", extra_items=stored)
    info["ranks"]["shortqa"] = sranks

    # passkey family
    for L in (256, 512, 1024, 2048):
        pq = [f"p{L}_{i:02d}" for i in range(20)]
        depths = {q: float(rng.uniform(0, 1)) for q in pq}
        pr = {}
        for p in POOLINGS:
            hit_p = {"mean": 0.9 - 0.15 * math.log2(L / 256), "cls": 0.5, "lmk:g=32": 0.95}[p]
            pr[p] = {q: (1 if rng.uniform() < hit_p else int(rng.integers(2, 50))) for q in pq}
        extra = {q: {"target_length": L, "depth": depths[q], "doc_tokens": L + 3, "gold_doc": f"d{q}"} for q in pq}
        _retrieval(out, f"passkey_{L}", "synthetic", pr, {q: L + 3 for q in pq}, f"synthetic:passkey:{L}",
                   extra_items=extra, main="acc_at_1")
        info["ranks"][f"passkey_{L}"] = pr
        info.setdefault("depths", {}).update(depths)

    # classification
    tlen = rng.integers(10, 900, 50)
    for p in POOLINGS:
        correct = (rng.uniform(size=50) < {"cls": 0.6, "mean": 0.7, "lmk:g=32": 0.75}[p]).astype(int)
        per_item = {f"t{i}": {"correct": int(c), "length": int(tlen[i]), "truncated": False}
                    for i, c in enumerate(correct)}
        write_result(out, {"task": "topics", "task_kind": "classification", "task_group": "classification",
                           "split": "test", "model": MODEL, "pooling": p, "main_metric": "accuracy",
                           "per_item_metric": "correct", "metrics": {"accuracy": float(correct.mean()), "f1": 0.5},
                           "per_item": per_item, "meta": meta("topics", "labelled:topics", p)})
    return info


@pytest.fixture(scope="session")
def fixture_results(tmp_path_factory) -> dict:
    return write_fixture_results(tmp_path_factory.mktemp("report_fixture"))


@pytest.fixture(scope="session")
def fixture_report(fixture_results, tmp_path_factory) -> dict:
    """The report of the fixture results, built once (ci_resamples kept small for speed)."""
    from lmkbench.report import ReportOptions, build_report

    out = tmp_path_factory.mktemp("report_html") / "report.html"
    opts = ReportOptions(ci_resamples=500, n_resamples=2000)
    build_report(fixture_results["out"], out, opts)
    return {"path": out, "html": out.read_text(encoding="utf-8"), "options": opts, **fixture_results}
