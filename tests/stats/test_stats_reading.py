"""Issue 11: correction families, wins/ties/losses, minimum detectable effect, cut vs split, ties in the top-k,
untrained poolings said in `compare`."""
import json

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower

from lmkbench.cli import main
from lmkbench.results import write_result
from lmkbench.stats.compare import compare, tied_topk_queries
from lmkbench.stats.power import detectable_effect_size, minimum_detectable_effect


def _other_task(make_retrieval, seed=5, n=80):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(50, 1900, n)
    base = rng.uniform(0.2, 0.8, n)
    return [make_retrieval("other", "m", "mean", base, lengths),
            make_retrieval("other", "m", "cls", np.clip(base + rng.normal(0, 0.2, n), 0, 1), lengths),
            make_retrieval("other", "m", "lmk:g=32", np.clip(base + rng.normal(0, 0.2, n), 0, 1), lengths)]


def test_adding_a_task_does_not_change_another_tasks_p_values(records, make_retrieval):
    alone = compare(records, baseline="mean")
    more = compare(records + _other_task(make_retrieval), baseline="mean")
    assert alone.settings["family"] == "task"
    for r in alone.rows:
        if r.p is not None:
            assert more.cell(r.task, r.model, r.pooling, r.bucket).p_adj == r.p_adj
    # one family over everything: adding the task does change them (the defect of issue 11)
    a_all = compare(records, baseline="mean", family="all")
    m_all = compare(records + _other_task(make_retrieval), baseline="mean", family="all")
    assert any(m_all.cell(r.task, r.model, r.pooling, r.bucket).p_adj != r.p_adj for r in a_all.rows if r.p is not None)


@pytest.mark.parametrize("family", ["task", "bucket", "all"])
def test_family_p_adj_is_holm_within_each_family(records, make_retrieval, family):
    cmp = compare(records + _other_task(make_retrieval), baseline="mean", family=family)
    tested = [r for r in cmp.rows if r.p is not None]
    keys = {r.family for r in tested}
    expected_keys = {"task": {"toy|m", "toycls|m", "other|m"}, "all": {"all"}}.get(family)
    if expected_keys:
        assert keys == expected_keys
    else:
        assert {(k.split("|")[0], k.split("|")[2]) for k in keys} == {(r.task, r.bucket) for r in tested}
    for key in keys:
        members = [r for r in tested if r.family == key]
        ref = multipletests([r.p for r in members], method="holm")[1]
        assert np.allclose([r.p_adj for r in members], ref, rtol=1e-12, atol=0)
        assert {r.family_size for r in members} == {len(members)}
    assert cmp.settings["n_families"] == len(keys)


def test_unknown_family_is_an_error(records):
    from lmkbench.errors import LmkbenchError

    with pytest.raises(LmkbenchError, match="'family': must be one of task, all, bucket, got 'everything'"):
        compare(records, family="everything")


@pytest.mark.parametrize("call,needle", [
    (lambda r: compare(r, alpha=1.0), "compare: bad value for 'alpha': must be < 1"),
    (lambda r: compare(r, min_n=0), "compare: bad value for 'min_n': must be >= 1"),
    (lambda r: compare(r, correction="bonferonni"), "unknown correction 'bonferonni'"),
    (lambda r: compare(r, test="t-test"), "'test': must be one of ttest, wilcoxon"),
])
def test_comparison_settings_are_checked_by_the_one_schema(records, call, needle):
    from lmkbench.errors import LmkbenchError

    with pytest.raises(LmkbenchError) as info:
        call(records)
    assert needle in str(info.value)


def test_gate_and_ranking_check_their_settings_with_the_same_schema(tmp_path):
    from lmkbench.errors import LmkbenchError
    from lmkbench.gate import check
    from lmkbench.stats.ranking import rank_systems

    with pytest.raises(LmkbenchError, match="gate: bad value for 'test': must be one of ttest, wilcoxon, randomization"):
        check(tmp_path, tmp_path / "b.json", test="bootstrap")
    with pytest.raises(LmkbenchError, match="gate: bad value for 'min_delta': must be >= 0"):
        check(tmp_path, tmp_path / "b.json", min_delta=-0.1)
    with pytest.raises(LmkbenchError, match="rank: bad value for 'alpha'"):
        rank_systems({"a": {"q": 1.0}, "b": {"q": 0.0}}, alpha=0)


@pytest.mark.parametrize("n", [2, 5, 12, 40, 120, 1000])
def test_detectable_effect_size_matches_statsmodels(n):
    for alpha, power in ((0.05, 0.8), (0.01, 0.9)):
        ours = detectable_effect_size(n, alpha, power)
        ref = float(np.squeeze(TTestPower().solve_power(nobs=n, alpha=alpha, power=power)))
        if n > 2 or alpha == 0.05:  # n = 2 at alpha 0.01: statsmodels' solver gives up and answers 10.0
            assert ours == pytest.approx(ref, rel=1e-4)      # statsmodels' own solver stops near 1e-5
        # and statsmodels' power function puts our effect exactly at the asked power (at n = 2 scipy's
        # non-central t gives it NaN in the lower tail)
        if n > 2:
            assert TTestPower().power(effect_size=ours, nobs=n, alpha=alpha) == pytest.approx(power, abs=1e-8)


def test_row_mde_wins_ties_losses(records):
    cmp = compare(records, baseline="mean")
    row = cmp.cell("toy", "m", "lmk:g=32", "1k-2k")
    base = {i: r["ndcg_at_10"] for i, r in records[0]["per_query"].items() if 1024 <= r["length"] < 2048}
    d = np.array([records[1]["per_query"][i]["ndcg_at_10"] - v for i, v in base.items()])
    assert (row.n_better, row.n_tied, row.n_worse) == ((d > 0).sum(), (d == 0).sum(), (d < 0).sum())
    es = float(np.squeeze(TTestPower().solve_power(nobs=d.size, alpha=0.05, power=0.8)))
    assert row.mde == pytest.approx(es * d.std(ddof=1), rel=1e-5)
    same = cmp.cell("toy", "m", "same", "all")
    assert (same.n_better, same.n_worse) == (0, 0) and same.n_tied == same.n_paired and same.mde is None
    assert minimum_detectable_effect([0.1]) is None


def test_small_bucket_has_a_large_mde(records):
    cmp = compare(records, baseline="mean", buckets="0,100,512,inf", min_n=3)
    rows = {r.bucket: r for r in cmp.select(task="toy", pooling="cls") if r.axis == "length"}
    small = [r for r in rows.values() if r.n_paired and r.n_paired < 20]
    big = max(rows.values(), key=lambda r: r.n_paired)
    assert small and all(r.mde > big.mde for r in small if r.mde is not None)


def test_cut_and_split_are_counted_apart(make_retrieval):
    n = 20
    lengths = [300] * 10 + [3000] * 10
    mean = make_retrieval("t", "m", "mean", [0.5] * n, lengths, truncated=[False] * n)
    lmk = make_retrieval("t", "m", "lmk", [0.6] * n, lengths, truncated=[False] * 15 + [True] * 5)
    for i, q in enumerate(lmk["per_query"].values()):
        q["split"] = 10 <= i < 15            # windows covered these; the last five were cut
    cmp = compare([mean, lmk], baseline="mean", min_n=2)
    row = cmp.cell("t", "m", "lmk", "all")
    assert (row.n_truncated, row.n_split) == (5, 5) and row.share_split == 0.25
    assert cmp.cell("t", "m", "mean", "all").n_split == 0          # no "split" field (old results): 0
    text = cmp.to_table()
    assert " cut " in text and " split " in text and "25%" in text


def test_tied_topk_from_the_trec_run(tmp_path, make_retrieval):
    out = tmp_path / "r"
    n = 12
    for pooling, tie in (("mean", False), ("cls", True)):
        rec = make_retrieval("t", "m", pooling, np.linspace(0.1, 0.9, n), [100] * n)
        run = {}
        for i in range(n):
            scores = [1.0 - j / 50 for j in range(20)]
            if tie and i < 3:
                scores[4] = scores[5]           # two documents with the same score inside the top 10
            if tie and i == 3:
                scores[12] = scores[13]         # a tie below the top 10 + 1: does not count
            run[f"q{i}"] = [(f"d{j}", s) for j, s in enumerate(scores)]
        write_result(out, rec, run)
    assert tied_topk_queries(out / "t" / "m" / "cls.trec") == {"q0", "q1", "q2"}
    cmp = compare(out, baseline="mean", min_n=2)
    assert cmp.cell("t", "m", "cls", "all").share_tied_topk == pytest.approx(3 / n)
    assert cmp.cell("t", "m", "mean", "all").n_tied_topk == 0
    data = cmp.to_dict()
    assert {"n_better", "n_tied", "n_worse", "mde", "share_tied_topk", "family", "n_split"} <= set(data["rows"][0])


def _untrained_dir(tmp_path, records):
    root = tmp_path / "res"
    for rec in records:
        rec["meta"] = {"trained_pooling": "mean", "pooling_mismatch": rec["pooling"] != "mean"}
        write_result(root, rec)
    return root


def test_compare_says_which_poolings_were_not_trained(tmp_path, records, capsys):
    root = _untrained_dir(tmp_path, records)
    out = tmp_path / "c.json"
    assert main(["compare", str(root), "--baseline", "mean", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    first = text.splitlines()[0]
    assert first.startswith("WARNING: m was trained with mean pooling") and "lmkbench train-matched" in first
    assert "cls, lmk:g=32, same are not the trained pooling" in first
    assert "cls (!)" in text
    groups = json.loads(out.read_text())["groups"]
    assert groups[0]["trained_pooling"] == ["mean"] and "cls" in groups[0]["untrained"]


def test_compare_out_writes_long_tables_and_prints_the_summary(tmp_path, results_dir, capsys):
    out = tmp_path / "compare.txt"
    assert main(["compare", str(results_dir), "--baseline", "mean", "--out", str(out)]) == 0
    shown = capsys.readouterr().out
    long = out.read_text()
    assert "== toy (retrieval, test)" in long and "MDE80" in long and "W/T/L" in long
    assert "== toy" not in shown and "Δ cls" in shown and shown.rstrip().endswith(f"wrote {out}")
    assert len(shown.splitlines()) < 10
