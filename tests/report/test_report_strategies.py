"""The report's long-document view: strategies' cost (chunks, vectors per document) and the gain over BM25."""
from __future__ import annotations

import json

import numpy as np

from lmkbench.cli import main
from lmkbench.report.build import ReportOptions, render_report
from lmkbench.report.cost import cost_table
from lmkbench.results import iter_results

MAXP = "chunk:size=16,pool=mean,agg=max"


def test_gain_over_bm25_and_strategy_cost(tiny_bert, tiny_beir, tmp_path):
    res = tmp_path / "res"
    assert main(["run", "--model", tiny_bert, "--pooling", f"mean,{MAXP}", "--task", f"beir:{tiny_beir}",
                 "--out", str(res), "--no-cache", "--quiet", "--max-length", "32"]) == 0
    assert main(["run", "--model", "bm25", "--task", f"beir:{tiny_beir}", "--out", str(res), "--quiet"]) == 0
    recs = {r.pooling: r for r in iter_results(res)}
    html = render_report(res, ReportOptions(ci_resamples=50, n_resamples=200, min_n=3, load_task_data=False))
    sec = html[html.index('id="bm25-gain"'):]
    sec = sec[:sec.index("</table>")]
    bm25 = recs["bm25"].items
    for pooling in ("mean", MAXP):  # the "all" column: mean per-query NDCG@10 difference to BM25
        dense = recs[pooling].items
        diff = np.mean([dense[q]["ndcg_at_10"] - bm25[q]["ndcg_at_10"] for q in dense])
        assert f"{diff:+.4f}" in sec, pooling
    assert "est. depth" in sec  # real retrieval: depth bins from the estimated evidence depth
    cost = {(c["model"], c["pooling"]): c for c in cost_table(list(iter_results(res)))}
    maxp = next(c for (m, p), c in cost.items() if p == MAXP)
    corpus = recs[MAXP].meta.text_sets["corpus"]
    assert maxp["vectors_per_doc"] == corpus["vectors"] / corpus["texts"] > 1
    assert maxp["family"] == "chunk:size=16" and maxp["tokens"] > next(c for (m, p), c in cost.items() if p == "mean")["tokens"]
    assert cost[("bm25", "bm25")]["lexical"] and cost[("bm25", "bm25")]["tokens"] == 0


def test_compare_cross_buckets_by_length_and_estimated_depth(tiny_bert, tiny_beir, tmp_path, capsys):
    res = tmp_path / "res"
    assert main(["run", "--model", tiny_bert, "--pooling", f"mean,{MAXP}", "--task", f"beir:{tiny_beir}",
                 "--out", str(res), "--no-cache", "--quiet", "--max-length", "32"]) == 0
    capsys.readouterr()
    assert main(["compare", str(res), "--cross", "--min-n", "3", "--json", str(tmp_path / "c.json")]) == 0
    out = capsys.readouterr().out
    assert "est. depth" in out and " × est. depth " in out
    cmp = json.loads((tmp_path / "c.json").read_text())
    assert cmp["settings"]["cross"] is True
    cells = [r for r in cmp["rows"] if r["axis"] == "length×depth" and r["pooling"] == MAXP]
    per_query = next(iter_results(res)).items
    assert sum(r["n"] for r in cells) == sum(1 for q in per_query.values() if q.get("evidence_depth") is not None)
