"""Per-query metrics equal pytrec_eval's (trec_eval semantics, ties included) to 1e-6."""
from __future__ import annotations

import random

import pytest

from lmkbench.metrics import DEFAULT_METRICS, parse_metric, per_query_scores, rank_run

pytrec_eval = pytest.importorskip("pytrec_eval")


def _random_case(seed: int, n_q=40, n_d=60):
    rng = random.Random(seed)
    docs = [f"d{i}" for i in range(n_d)]
    qrels, run = {}, {}
    for q in range(n_q):
        qid = f"q{q}"
        judged = rng.sample(docs, rng.randint(1, 6))
        qrels[qid] = {d: rng.choice([0, 1, 1, 2, 3]) for d in judged}
        if not any(qrels[qid].values()):
            qrels[qid][judged[0]] = 1
        retrieved = rng.sample(docs, rng.randint(0, 40))
        # coarse scores create many ties: tie order must follow trec_eval (doc id descending)
        run[qid] = [(d, round(rng.random(), 1)) for d in retrieved]
    return qrels, run


def _trec(qrels, run, k_cut=None):
    measures = {"ndcg_cut.10", "recall.10", "recall.100", "recip_rank", "P.1"}
    runs = {q: {d: s for d, s in r} for q, r in run.items() if r}
    if k_cut:
        runs = {q: dict(sorted(r.items(), key=lambda x: (-x[1], _neg(x[0])))[:k_cut]) for q, r in runs.items()}
    return pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(runs)


class _neg(str):
    def __lt__(self, other):
        return str.__gt__(self, other)


@pytest.mark.parametrize("seed", range(5))
def test_metrics_equal_pytrec_eval(seed):
    qrels, run = _random_case(seed)
    ours = per_query_scores(run, qrels, DEFAULT_METRICS)
    ref = _trec(qrels, run)
    ref10 = _trec(qrels, run, k_cut=10)
    for qid in qrels:
        r = ref.get(qid)
        if r is None:  # pytrec_eval silently drops queries without results: ours must count them as 0
            assert not run[qid]
            assert all(v == 0.0 for v in ours[qid].values())
            continue
        assert ours[qid]["ndcg_at_10"] == pytest.approx(r["ndcg_cut_10"], abs=1e-6)
        assert ours[qid]["recall_at_10"] == pytest.approx(r["recall_10"], abs=1e-6)
        assert ours[qid]["recall_at_100"] == pytest.approx(r["recall_100"], abs=1e-6)
        assert ours[qid]["acc_at_1"] == pytest.approx(r["P_1"], abs=1e-6)
        assert ours[qid]["mrr_at_10"] == pytest.approx(ref10[qid]["recip_rank"], abs=1e-6)


def test_tie_order_is_doc_id_descending():
    assert rank_run([("a", 0.5), ("c", 0.5), ("b", 0.9)]) == ["b", "c", "a"]


def test_queries_without_positives_are_not_evaluated():
    scores = per_query_scores({"q": [("d", 1.0)]}, {"q": {"d": 0}, "p": {"d": 1}})
    assert set(scores) == {"p"} and scores["p"]["ndcg_at_10"] == 0.0


def test_metric_spec_parsing():
    assert str(parse_metric("nDCG@10")) == "ndcg@10" and parse_metric("ndcg_at_10").key == "ndcg_at_10"
    from lmkbench.errors import LmkbenchError

    with pytest.raises(LmkbenchError):
        parse_metric("bleu@4")
