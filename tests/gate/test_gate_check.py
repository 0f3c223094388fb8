"""The gate's decision rule on hand-made results, checked against scipy and statsmodels."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from lmkbench.cli import main
from lmkbench.errors import InputError, LmkbenchError
from lmkbench.gate import REGRESSION, check, load_baseline, write_baseline
from lmkbench.metrics import METRIC_INFO, register_metric_info
from lmkbench.results import write_result

CHECKSUMS = {"corpus.jsonl": "a" * 64, "queries.jsonl": "b" * 64}


def _record(task, pooling, scores, metric="ndcg_at_10", model="m", checksums=CHECKSUMS, **meta):
    per_query = {f"q{i}": {metric: float(s), "length": 10 * i, "truncated": False} for i, s in enumerate(scores)}
    return {"task": task, "task_kind": "retrieval", "split": "test", "model": model, "pooling": pooling,
            "main_metric": metric, "metrics": {metric: float(np.mean(scores))}, "per_query": per_query,
            "meta": {"dataset_checksums": dict(checksums), "model_identity": "id-1", "max_length": 128,
                     "long_policy": "truncate", **meta}}


def _write(folder, records):
    for rec in records:
        write_result(folder, rec)
    return folder


@pytest.fixture()
def scores():
    rng = np.random.default_rng(0)
    return {p: np.clip(rng.uniform(0.3, 0.9, 40), 0, 1) for p in ("cls", "mean", "lmk:g=32")}


@pytest.fixture()
def baseline(tmp_path, scores):
    res = _write(tmp_path / "base_results", [_record("t", p, s) for p, s in scores.items()])
    path = tmp_path / "baseline.json"
    write_baseline(res, path)
    return path


def test_baseline_keeps_items_checksums_and_settings(baseline, scores):
    base = load_baseline(baseline)
    cells = {c.pooling: c for c in base.cells}
    assert set(cells) == set(scores)
    c = cells["mean"]
    assert c.items == {f"q{i}": pytest.approx(v) for i, v in enumerate(scores["mean"])}
    assert c.dataset_checksums == CHECKSUMS and c.model_identity == "id-1"
    assert c.settings == {"max_length": 128, "long_policy": "truncate"} and c.greater_is_better is True


def test_identical_results_pass(tmp_path, baseline, scores):
    now = _write(tmp_path / "now", [_record("t", p, s) for p, s in scores.items()])
    rep = check(now, baseline)
    assert rep.passed and [r.verdict for r in rep.rows] == ["same"] * 3
    assert all(r.p == 1.0 and r.p_adj == 1.0 for r in rep.rows)


def test_significant_drop_fails_with_scipy_p_and_statsmodels_holm(tmp_path, baseline, scores):
    rng = np.random.default_rng(1)
    new = dict(scores)
    new["mean"] = scores["mean"] - 0.05 - rng.normal(0, 0.02, 40)        # clearly worse
    new["cls"] = scores["cls"] + rng.normal(0, 0.02, 40)                 # noise
    now = _write(tmp_path / "now", [_record("t", p, s) for p, s in new.items()])
    rep = check(now, baseline, alpha=0.05, min_delta=0.01)
    rows = {r.pooling: r for r in rep.rows}
    for p in ("cls", "mean"):
        assert rows[p].p == pytest.approx(stats.ttest_rel(new[p], scores[p]).pvalue, rel=1e-12)
    tested = [r for r in rep.rows if r.p is not None]
    holm = multipletests([r.p for r in tested], method="holm")[1]
    assert [r.p_adj for r in tested] == pytest.approx(list(holm), rel=1e-12)
    assert rows["mean"].verdict == REGRESSION and rows["mean"].delta == pytest.approx(float(np.mean(new["mean"] - scores["mean"])))
    assert rows["cls"].verdict != REGRESSION and rows["lmk:g=32"].verdict == "same"
    assert not rep.passed and "gate: FAIL" in rep.to_table() and "REGRESSION" in rep.to_table()


def test_significant_but_tiny_drop_passes_and_big_noisy_drop_passes(tmp_path, baseline, scores, monkeypatch):
    from lmkbench.metrics import MetricInfo

    monkeypatch.setitem(METRIC_INFO, "ndcg", MetricInfo(low=-np.inf, high=np.inf))   # noise past [0, 1]: no range
    rng = np.random.default_rng(2)
    new = dict(scores)
    new["mean"] = scores["mean"] - 0.004 - rng.normal(0, 0.001, 40)      # significant, below min-delta
    noisy = rng.normal(0, 0.3, 40)
    new["cls"] = scores["cls"] - 0.02 + noisy - noisy.mean()             # delta -0.02, not significant
    now = _write(tmp_path / "now", [_record("t", p, s) for p, s in new.items()])
    rep = check(now, baseline, min_delta=0.01)
    rows = {r.pooling: r for r in rep.rows}
    assert rows["mean"].p_adj < 1e-6 and rows["mean"].verdict == "worse (< min-delta)"
    assert rows["cls"].p_adj > 0.05 and rows["cls"].verdict == "worse (n.s.)"
    assert rep.passed
    assert not check(now, baseline, min_delta=0.001).passed     # the same drop fails a stricter gate


def test_wilcoxon_and_randomization_tests(tmp_path, baseline, scores):
    new = dict(scores, mean=scores["mean"] - np.linspace(0.01, 0.2, 40))
    now = _write(tmp_path / "now", [_record("t", p, s) for p, s in new.items()])
    rep = check(now, baseline, test="wilcoxon")
    row = next(r for r in rep.rows if r.pooling == "mean")
    assert row.p == pytest.approx(stats.wilcoxon(new["mean"] - scores["mean"]).pvalue) and row.verdict == REGRESSION
    rep = check(now, baseline, test="randomization")
    assert next(r for r in rep.rows if r.pooling == "mean").verdict == REGRESSION


def test_binary_items_use_mcnemar(tmp_path):
    base = [1] * 30 + [0] * 10
    worse = [0] * 20 + [1] * 10 + [0] * 10
    res = _write(tmp_path / "b", [_record("c", "mean", base, metric="acc_at_1")])
    write_baseline(res, tmp_path / "b.json")
    now = _write(tmp_path / "n", [_record("c", "mean", worse, metric="acc_at_1")])
    rep = check(now, tmp_path / "b.json")
    row = rep.rows[0]
    assert row.test == "mcnemar" and row.p == pytest.approx(stats.binomtest(0, 20, 0.5).pvalue)
    assert row.verdict == REGRESSION
    assert "test=mcnemar (1 cell: binary scores)" in rep.to_table()     # was "test=ttest"


def test_missing_label_names_the_same_checkpoint_under_other_settings(tmp_path, baseline, scores):
    now = _write(tmp_path / "now", [_record("t", p, s, model="m~256") for p, s in scores.items()])
    with pytest.raises(LmkbenchError, match="found 'm~256': the same checkpoint under other settings"):
        check(now, baseline)


def test_lower_is_better_metric_turns_around(tmp_path, monkeypatch):
    monkeypatch.setitem(METRIC_INFO, "latency_ms", None)
    register_metric_info("latency_ms", greater_is_better=False)
    base = np.linspace(10, 20, 30)
    res = _write(tmp_path / "b", [_record("t", "mean", base, metric="latency_ms")])
    write_baseline(res, tmp_path / "b.json")
    assert load_baseline(tmp_path / "b.json").cells[0].greater_is_better is False
    slower = _write(tmp_path / "slow", [_record("t", "mean", base + 1.0 + np.linspace(0, 0.1, 30), metric="latency_ms")])
    faster = _write(tmp_path / "fast", [_record("t", "mean", base - 1.0 - np.linspace(0, 0.1, 30), metric="latency_ms")])
    assert check(slower, tmp_path / "b.json").rows[0].verdict == REGRESSION
    fast = check(faster, tmp_path / "b.json")
    assert fast.passed and fast.rows[0].verdict == "better"


# ---------------------------------------------------------------- unusable input → LmkbenchError / exit 2


def test_missing_cell(tmp_path, baseline, scores):
    now = _write(tmp_path / "now", [_record("t", p, s) for p, s in scores.items() if p != "cls"])
    with pytest.raises(LmkbenchError, match="1 baseline cell.*no result.*pooling 'cls'"):
        check(now, baseline)


def test_mismatched_query_set(tmp_path, baseline, scores):
    now = _write(tmp_path / "now", [_record("t", p, s if p != "mean" else s[:-1]) for p, s in scores.items()])
    with pytest.raises(LmkbenchError, match="item sets differ.*1 missing now \\(e.g. q39\\)"):
        check(now, baseline)


def test_changed_dataset_checksum(tmp_path, baseline, scores):
    other = {**CHECKSUMS, "corpus.jsonl": "c" * 64}
    now = _write(tmp_path / "now", [_record("t", p, s, checksums=other) for p, s in scores.items()])
    with pytest.raises(LmkbenchError, match="checksum of 'corpus.jsonl' differs"):
        check(now, baseline)


def test_changed_settings_and_model_warn_but_do_not_fail(tmp_path, baseline, scores):
    recs = [_record("t", p, s) for p, s in scores.items()]
    for r in recs:
        r["meta"].update(max_length=64, model_identity="id-2")
    rep = check(_write(tmp_path / "now", recs), baseline)
    assert rep.passed and any("max_length 128 → 64" in w for w in rep.warnings)
    assert any("model identity differs" in w for w in rep.warnings)


def test_new_cells_are_listed_not_gated(tmp_path, baseline, scores):
    recs = [_record("t", p, s) for p, s in scores.items()] + [_record("t2", "mean", scores["mean"])]
    rep = check(_write(tmp_path / "now", recs), baseline)
    assert rep.passed and rep.new_cells == ["t2/m/mean"] and "not gated" in rep.to_table()


@pytest.mark.parametrize("content,needle", [
    ("{not json", "baseline.json:1: malformed JSON"),
    (json.dumps({"schema": "other"}), "field 'schema'"),
    (json.dumps({"schema": "lmkbench.baseline/1", "cells": []}), "field 'cells'"),
    (json.dumps({"schema": "lmkbench.baseline/1", "cells": [{"task": "t", "model": "m", "pooling": "mean",
                 "metric": "ndcg_at_10", "greater_is_better": True, "dataset_checksums": {}}]}),
     "field 'cells[0].value'"),
    (json.dumps({"schema": "lmkbench.baseline/1", "cells": [{"task": "t", "model": "m", "pooling": "mean",
                 "metric": "ndcg_at_10", "greater_is_better": True, "value": 0.5, "dataset_checksums": {},
                 "item_metric": "ndcg_at_10", "items": {"q0": "high"}}]}),
     "field 'cells[0].items.q0'"),
])
def test_malformed_baseline(tmp_path, content, needle):
    path = tmp_path / "baseline.json"
    path.write_text(content)
    with pytest.raises(InputError) as exc:
        load_baseline(path)
    assert needle in str(exc.value)


def test_cli_exit_codes_and_table(tmp_path, baseline, scores, capsys):
    same = _write(tmp_path / "same", [_record("t", p, s) for p, s in scores.items()])
    assert main(["check", str(same), "--baseline", str(baseline)]) == 0
    out = capsys.readouterr().out
    assert "baseline" in out and "p adj" in out and "gate: PASS" in out
    worse = _write(tmp_path / "worse", [_record("t", p, s - (0.1 if p == "cls" else 0)) for p, s in scores.items()])
    assert main(["check", str(worse), "--baseline", str(baseline), "--json", str(tmp_path / "gate.json")]) == 1
    assert "gate: FAIL" in capsys.readouterr().out
    assert json.loads((tmp_path / "gate.json").read_text())["passed"] is False
    missing = _write(tmp_path / "missing", [_record("t", "mean", scores["mean"])])
    assert main(["check", str(missing), "--baseline", str(baseline)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no result" in err[0]
    (tmp_path / "bad.json").write_text("[]")
    assert main(["check", str(same), "--baseline", str(tmp_path / "bad.json")]) == 2
    assert main(["baseline", str(same), "-o", str(tmp_path / "b2.json")]) == 0
    assert "3 cell(s), 120 per-item scores" in capsys.readouterr().out


def test_systems_selects_the_gated_cells(tmp_path, baseline, scores):
    new = dict(scores)
    new["cls"] = scores["cls"] - 0.3                                         # a regression, outside the selection
    now = _write(tmp_path / "now", [_record("t", p, s) for p, s in new.items()])
    assert not check(now, baseline).passed
    rep = check(now, baseline, systems="pooling=mean|lmk")
    assert rep.passed and {r.pooling for r in rep.rows} == {"mean", "lmk:g=32"}
    with pytest.raises(LmkbenchError, match="matches no result"):
        check(now, baseline, systems="pooling=meen")
