"""Issue 30 item 3: numeric ties below the dtype's resolution. A query whose top-k order rests on a score gap
smaller than what the vectors' dtype (or the TREC file's 6 decimals) resolves can flip between bf16 and fp32;
compare counts such queries per row beside the exact ties, from a hand-made TREC run."""
from __future__ import annotations

import pytest

from lmkbench.report import ReportOptions, build_report
from lmkbench.results import write_result
from lmkbench.stats.compare import compare
from lmkbench.stats.ties import DTYPE_RESOLUTION, metric_cutoff, near_tie_gap, ties_in_run

N = 20
BF16 = 2.0 ** -8


def _needle(pooling: str, dtype: str, hits) -> dict:
    per_query = {f"q{i}": {"acc_at_1": float(h), "ndcg_at_10": float(h), "length": 512, "lengths": [512],
                           "truncated": False} for i, h in enumerate(hits)}
    return {"task": "needle_512", "task_kind": "retrieval", "split": "test", "model": "m", "pooling": pooling,
            "main_metric": "acc_at_1", "metrics": {"acc_at_1": sum(hits) / len(hits)}, "per_query": per_query,
            "meta": {"dtype": dtype, "max_length": 512, "long_policy": "truncate"}}


def _run(gaps_at_top: dict[int, float], below: dict[int, float] | None = None) -> dict:
    """Each query: the first two scores ``gaps_at_top[i]`` apart (default 0.1), the rest 0.05 apart, except a
    gap ``below[i]`` between the 2nd and 3rd."""
    run = {}
    for i in range(N):
        scores = [0.8, 0.8 - gaps_at_top.get(i, 0.1)]
        second_gap = (below or {}).get(i, 0.05)
        scores.append(scores[-1] - second_gap)
        while len(scores) < 15:
            scores.append(scores[-1] - 0.05)
        run[f"q{i}"] = [(f"d{j}", s) for j, s in enumerate(scores)]
    return run


def _write(root, dtype):
    hits = [1, 0] * (N // 2)
    # mean: q0 exact tie at the top, q1 a gap of 0.003 (< 2^-8), q2 0.005 (> 2^-8), q3 1e-6 (one TREC step),
    # q4 a near tie between the 2nd and 3rd place only (does not decide acc@1)
    write_result(root, _needle("mean", dtype, hits), _run({0: 0.0, 1: 0.003, 2: 0.005, 3: 1e-6}, {4: 0.001}))
    write_result(root, _needle("cls", dtype, hits[::-1]), _run({}))
    return root


def test_the_gap_and_the_depth():
    assert metric_cutoff("acc_at_1") == 1 and metric_cutoff("ndcg_at_10") == 10 and metric_cutoff("accuracy") == 10
    run = _run({0: 0.0, 1: 0.003, 2: 0.005, 3: 1e-6}, {4: 0.001})
    assert ties_in_run(run, 1) == {"q0"}                                  # exact ties only
    assert ties_in_run(run, 1, BF16) == {"q0", "q1", "q3"}                # at bf16's resolution
    assert ties_in_run(run, 1, 1e-6) == {"q0", "q3"}                      # at the TREC file's 6 decimals
    assert ties_in_run(run, 10, BF16) == {"q0", "q1", "q3", "q4"}         # deeper, q4's 2nd/3rd gap counts


@pytest.mark.parametrize("dtype, expected", [("bf16", {"q0", "q1", "q3"}), ("fp32", {"q0", "q3"})])
def test_compare_counts_near_ties_by_the_results_dtype(tmp_path, dtype, expected):
    root = _write(tmp_path / "r", dtype)
    cmp = compare(root, baseline="mean", min_n=2)
    mean = cmp.cell("needle_512", "m", "mean", "all")
    assert mean.near_tie_k == 1
    assert mean.near_tie_gap == max(DTYPE_RESOLUTION[dtype], 1e-6)
    assert mean.n_near_tied_topk == len(expected) and mean.share_near_tied_topk == pytest.approx(len(expected) / N)
    assert mean.n_tied_topk == 1                                        # the exact ties stay as they were (top 10)
    assert cmp.cell("needle_512", "m", "cls", "all").n_near_tied_topk == 0
    text = cmp.to_table()
    assert "near-tied" in text and f"{100 * len(expected) / N:.0f}%@1" in text
    assert "could move by up to that share between dtypes" in text
    data = cmp.to_dict()["rows"][0]
    assert {"n_near_tied_topk", "share_near_tied_topk", "near_tie_k", "near_tie_gap"} <= set(data)


def test_the_record_dtype_decides_the_gap(tmp_path):
    from lmkbench.results import ResultRecord

    rec = ResultRecord.from_json(_needle("mean", "bf16", [1, 0]))
    assert near_tie_gap(rec) == BF16
    system = {"name": "m", "pooling": "mean", "variant": "", "kind": "dense", "identity": "x",
              "settings": {"dtype": "fp16", "max_length": 512, "long_policy": "truncate", "positions": "native"}}
    rec = ResultRecord.from_json({**_needle("mean", "bf16", [1, 0]), "meta": {"system": system}})
    assert near_tie_gap(rec) == 2.0 ** -11                               # meta.system's settings win
    rec = ResultRecord.from_json({**_needle("mean", "bf16", [1, 0]), "meta": {}})
    assert near_tie_gap(rec) == 1e-6                                     # unknown dtype: the TREC file's


def test_the_report_cell_shows_the_share(tmp_path):
    root = _write(tmp_path / "r", "bf16")
    out = build_report(root, tmp_path / "r.html", ReportOptions(min_n=2, load_task_data=False))
    html = out.read_text()
    assert "near-tied top-1: 15%" in html and "could move by up to that between dtypes" in html
