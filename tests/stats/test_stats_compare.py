import json
import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from lmkbench.errors import InputError, LmkbenchError
from lmkbench.stats import compare
from lmkbench.stats.comparison import SCHEMA


def _scores(rec, ids):
    table = rec.get("per_query") or rec["per_item"]
    key = rec.get("per_item_metric", rec["main_metric"])
    return np.array([table[i][key] for i in ids], dtype=float)


def test_wins_losses_and_null_on_toy_data(records):
    cmp = compare(records, baseline="mean")
    assert cmp.cell("toy", "m", "cls", "all").mark == "loss"
    assert cmp.cell("toy", "m", "lmk:g=32", "1k-2k").mark == "win"
    assert cmp.cell("toy", "m", "lmk:g=32", "0-512").mark is None     # lmk only helps long documents
    same = cmp.cell("toy", "m", "same", "all")
    assert same.p == 1.0 and same.mean_diff == 0.0 and same.mark is None
    base = cmp.cell("toy", "m", "mean", "all")
    assert base.is_baseline and base.p is None and base.n == 120
    assert cmp.cell("toycls", "m", "lmk:g=32", "all").test == "mcnemar"   # binary outcomes
    assert {g.test for g in cmp.groups} == {"ttest", "mcnemar"}


def test_cell_values_match_scipy_and_holm_over_the_family(records):
    cmp = compare(records, baseline="mean", test="ttest", correction="holm", family="all")
    base, lmk = records[0], records[1]
    ids = [i for i, r in base["per_query"].items() if 1024 <= r["length"] < 2048]
    a, b = _scores(lmk, ids), _scores(base, ids)
    row = cmp.cell("toy", "m", "lmk:g=32", "1k-2k")
    ref = stats.ttest_rel(a, b)
    assert row.p == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
    ci = ref.confidence_interval()
    assert (row.ci_low, row.ci_high) == pytest.approx((ci.low, ci.high), abs=1e-9)
    assert row.mean == pytest.approx(a.mean()) and row.baseline_mean == pytest.approx(b.mean())
    tested = [r for r in cmp.rows if r.p is not None]
    assert cmp.settings["family_size"] == len(tested) == 12
    expected = multipletests([r.p for r in tested], method="holm")[1]
    assert np.allclose([r.p_adj for r in tested], expected, rtol=1e-12, atol=0)
    bh = compare(records, correction="bh", family="all")
    tested = [r for r in bh.rows if r.p is not None]
    assert np.allclose([r.p_adj for r in tested], multipletests([r.p for r in tested], method="fdr_bh")[1])


@pytest.mark.parametrize("test", ["wilcoxon", "randomization", "bootstrap"])
def test_other_tests_run_with_ci(records, test):
    cmp = compare(records, test=test, n_resamples=2000)
    row = cmp.cell("toy", "m", "cls", "all")
    assert row.test == test and row.p is not None and row.ci_method == "bootstrap"
    assert row.ci_low < row.mean_diff < row.ci_high < 0


def test_min_n_keeps_small_buckets_untested(records):
    cmp = compare(records, min_n=61)
    row = cmp.cell("toy", "m", "lmk:g=32", "1k-2k")
    assert row.n == 60 and row.p is None and row.p_adj is None and row.mark is None
    assert "min_n=61" in row.note and row.mean_diff is not None
    assert cmp.cell("toy", "m", "lmk:g=32", "all").p is not None


def test_mismatched_ids_and_nan(records):
    lmk = records[1]
    for qid in ["q0", "q1", "q2"]:
        del lmk["per_query"][qid]
    lmk["per_query"]["q3"]["ndcg_at_10"] = math.nan
    lmk["per_query"]["q4"]["ndcg_at_10"] = None
    lmk["per_query"]["extra"] = {"ndcg_at_10": 0.5, "length": 100}
    row = compare(records).cell("toy", "m", "lmk:g=32", "all")
    assert row.n == 118 and row.n_unpaired == 4 and row.n_nan == 2 and row.n_paired == 115
    assert "2 pair(s) with NaN dropped" in row.note


def test_missing_baseline_and_models_kept_apart(make_retrieval):
    lengths = list(range(100, 3100, 100))
    recs = [make_retrieval("t", "m1", "mean", np.linspace(0.3, 0.7, 30), lengths),
            make_retrieval("t", "m1", "cls", np.linspace(0.3, 0.7, 30) - 0.2, lengths),
            make_retrieval("t", "m2", "cls", np.linspace(0.3, 0.7, 30) + 0.3, lengths),
            make_retrieval("t", "m2", "lmk:g=32", np.linspace(0.3, 0.7, 30), lengths)]
    cmp = compare(recs, baseline="mean", min_n=2)
    m1, m2 = cmp.groups
    assert m1.baseline_found and not m2.baseline_found
    assert "not among the poolings" in m2.notes[0]
    assert all(r.p is None for r in cmp.select(model="m2"))
    assert cmp.cell("t", "m1", "cls", "all").mean_diff == pytest.approx(-0.2)


def test_input_errors(records, tmp_path):
    with pytest.raises(InputError, match="field 'pooling'"):
        compare(records + [records[0]])
    with pytest.raises(InputError, match=r"field '--metric'.*scores: ndcg_at_10\)"):
        compare(records[:2], metric="map")
    with pytest.raises(InputError, match=r"field '--metric'.*did you mean 'ndcg_at_10'"):   # names the flag
        compare(records[:2], metric="ndcg_at_1O")
    named = [dict(r, per_item_metric="mrr") for r in records[:2]]
    with pytest.raises(InputError, match="field 'per_item_metric'"):
        compare(named)
    with pytest.raises(LmkbenchError):
        compare(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(LmkbenchError, match="no lmkbench result files"):
        compare(tmp_path / "empty")
    with pytest.raises(LmkbenchError, match="binary"):
        compare(records[:2], test="mcnemar")
    with pytest.raises(LmkbenchError):
        compare(records, alpha=1.5)
    broken = records[:2]
    broken[1]["per_query"]["q5"]["ndcg_at_10"] = "high"
    with pytest.raises(InputError, match=r"per_query\.q5\.ndcg_at_10"):
        compare(broken)


def test_task_without_per_item_scores_is_skipped_not_fatal(records, make_classification):
    clustering = [make_classification("clu", "m", p, [1, 0, 1], [10, 20, 30]) for p in ("mean", "cls")]
    for rec in clustering:
        rec.update(task_kind="clustering", main_metric="v_measure", metrics={"v_measure": 0.5})
        del rec["per_item_metric"]
        for item in rec["per_item"].values():
            item["correct_fraction"] = item.pop("correct")
    cmp = compare(records + clustering)
    assert [s["task"] for s in cmp.skipped] == ["clu"] and "v_measure" in cmp.skipped[0]["reason"]
    assert "skipped clu" in cmp.to_table() and cmp.to_dict()["skipped"] == cmp.skipped
    assert {g.task for g in cmp.groups} == {"toy", "toycls"}


def test_main_metric_without_item_scores_falls_back_to_item_outcome(records):
    for rec in records[4:]:
        del rec["per_item_metric"]
        rec.update(task_kind="clustering", main_metric="v_measure")
    cmp = compare(records)
    assert cmp.cell("toycls", "m", "lmk:g=32", "all").test == "mcnemar"
    group = next(g for g in cmp.groups if g.task == "toycls")
    assert group.metric == "correct" and "tested per-item 'correct' instead" in group.notes[0]


def test_reads_a_results_folder_and_renders(results_dir, tmp_path):
    cmp = compare(results_dir, baseline="mean")
    assert {g.task for g in cmp.groups} == {"toy", "toycls"}
    path = cmp.to_json(tmp_path / "out" / "cmp.json")
    text = path.read_text()
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert data["schema"] == SCHEMA and data["settings"]["edges"][-1] is None
    assert len(data["rows"]) == len(cmp.rows) and data == cmp.to_dict()
    row = next(r for r in data["rows"] if r["pooling"] == "cls" and r["bucket"] == "all")
    assert row["mark"] == "loss" and row["p_adj"] >= row["p"]
    df = cmp.to_dataframe()
    assert len(df) == len(cmp.rows) and {"p", "p_adj", "mean_diff", "share_truncated"} <= set(df.columns)
    assert df.loc[(df.pooling == "cls") & (df.bucket == "all"), "mark"].item() == "loss"
    table = cmp.to_table()
    assert "== toy (retrieval, test)" in table and "▲" in table and "▼" in table and "(baseline)" in table
    matrix = cmp.to_table("matrix")
    assert "1k-2k" in matrix and "0.6" in matrix


def test_pooling_strings_matched_canonically(records):
    cmp = compare(records, baseline=" lmk:g=32 ")
    assert cmp.groups[0].baseline == "lmk:g=32" and cmp.groups[0].poolings[0] == "lmk:g=32"
    assert cmp.cell("toy", "m", "mean", "1k-2k").mark == "loss"


def test_baseline_defaults_filled_in_through_the_pooling_registry(records):
    pytest.importorskip("torch")
    from lmkbench.poolings import parse_pooling

    canon = str(parse_pooling("lmk"))            # e.g. "lmk:g=32": the registry's defaults
    for r in records:
        if r["pooling"] == "lmk:g=32":
            r["pooling"] = canon
    assert compare(records, baseline="lmk").groups[0].baseline == canon


def test_custom_buckets(records):
    cmp = compare(records, buckets="0,1k,inf")
    assert [b["label"] for b in cmp.groups[0].buckets] == ["all", "0-1k", "1k+"]
    assert cmp.settings["edges"] == [0, 1024, None]
