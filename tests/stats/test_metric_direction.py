"""A metric's direction and range are declared once, in the metric registry, and every contrast and mark and every
result read uses them (issue 27 item 4; issue 28: a per-query NDCG of 5.0 was averaged in)."""
from __future__ import annotations

import numpy as np
import pytest

from lmkbench.errors import InputError
from lmkbench.stats.compare import compare


# -- declared once: a metric's direction and range --------------------------------------------------------------
def test_a_lower_is_better_metric_marks_a_decrease_as_a_win(make_retrieval, monkeypatch):
    from lmkbench.metrics import METRIC_INFO, register_metric_info

    lengths = list(range(100, 3100, 100))
    base = np.linspace(0.4, 0.9, 30)
    recs = [make_retrieval("t", "m", "mean", base, lengths), make_retrieval("t", "m", "cls", base - 0.3, lengths)]
    assert compare(recs, min_n=2).cell("t", "m", "cls", "all").mark == "loss"
    monkeypatch.setitem(METRIC_INFO, "ndcg", METRIC_INFO["ndcg"])
    register_metric_info("ndcg", greater_is_better=False, low=0, high=1)
    assert compare(recs, min_n=2).cell("t", "m", "cls", "all").mark == "win"


def test_a_score_outside_its_range_is_refused(tmp_path):
    from lmkbench.results import ResultRecord

    rec = {"schema": "lmkbench.result/1", "task": "t", "model": "m", "pooling": "mean", "main_metric": "ndcg_at_10",
           "metrics": {"ndcg_at_10": 0.5}, "per_query": {"q1": {"ndcg_at_10": 5.0, "length": 3}},
           "item_scores": ["ndcg_at_10"]}
    with pytest.raises(InputError, match=r"per_query\.q1\.ndcg_at_10.*outside"):
        ResultRecord.from_json(rec)
    rec["per_query"]["q1"]["ndcg_at_10"] = 1.0
    rec["metrics"]["ndcg_at_10"] = -0.1
    with pytest.raises(InputError, match=r"metrics\.ndcg_at_10"):
        ResultRecord.from_json(rec)
