"""A statistical test and a correction registered here, in a test file, through the registries, with no other
file edited: they appear in `compare --help` (and report's, check's), run in `compare`, `rank_systems`, the
gate and the leaderboard config, and the report explains them with their registered text. Building the CLI
imports no scipy (the tests are registered by name, scipy is imported when one runs)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from lmkbench.cli import main
from lmkbench.gate import check, write_baseline
from lmkbench.leaderboard import load_config
from lmkbench.report.explain import explanation
from lmkbench.results import write_result
from lmkbench.stats import compare, rank_systems
from lmkbench.stats.registry import CORRECTIONS, STAT_TESTS, register_correction, register_test

SIGN_TEXT = "the sign test: a two-sided binomial test on the signs of the non-zero per-item differences"


def sign_test(a, b, draws):
    """The sign test: how many of the non-zero differences are positive, against Binomial(n, 1/2)."""
    d = a - b
    nonzero = d[d != 0]
    if d.size == 0:
        return None, None, "no pairs"
    if nonzero.size == 0:
        return 0.0, 1.0, "all differences are zero"
    k = int((nonzero > 0).sum())
    return float(k), float(stats.binomtest(k, nonzero.size, 0.5).pvalue), f"{nonzero.size} non-zero differences"


def bonferroni(p):
    return np.minimum(1.0, p * p.size)


@pytest.fixture(autouse=True)
def registered():
    """The sign test and Bonferroni's correction, registered for this file's tests only."""
    register_test("sign", help="binomial test on the signs", text=SIGN_TEXT)(sign_test)
    register_correction("bonferroni", help="family-wise error, single step")(bonferroni)
    yield
    STAT_TESTS.unregister("sign")
    CORRECTIONS.unregister("bonferroni")


def reference_p(a, b) -> float:
    d = np.asarray(a) - np.asarray(b)
    d = d[d != 0]
    return stats.binomtest(int((d > 0).sum()), d.size, 0.5).pvalue if d.size else 1.0


def test_the_sign_test_matches_scipy_and_its_edge_cases():
    from lmkbench.stats.tests import paired_test

    rng = np.random.default_rng(0)
    a, b = rng.uniform(0, 1, 40), rng.uniform(0, 1, 40)
    r = paired_test(a, b, "sign", n_resamples=500)
    assert r.test == "sign" and r.p == pytest.approx(reference_p(a, b), abs=1e-12)
    assert r.ci_method == "bootstrap" and r.ci_low < r.mean_diff < r.ci_high
    assert paired_test(a, a, "sign").p == 1.0 and paired_test([], [], "sign").p is None


@pytest.mark.parametrize("command", ["compare", "report", "check"])
def test_it_appears_in_the_help(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "sign}" in out.replace("\n", "") or ",sign" in out    # a --test choice
    assert "bonferroni" in out                                    # a --correction choice
    if command != "report":
        assert "sign (binomial test on the signs; CI: bootstrap percentile)" in " ".join(out.split())


def test_it_runs_in_compare_from_the_command_line(results_dir, records, tmp_path):
    out = tmp_path / "cmp.json"
    assert main(["compare", str(results_dir), "--test", "sign", "--correction", "bonferroni", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    groups = {g["task"]: g for g in data["groups"]}
    assert groups["toy"]["test"] == "sign" and groups["toycls"]["test"] == "mcnemar"   # 0/1 still McNemar's
    scores = {r["pooling"]: [q["ndcg_at_10"] for q in r["per_query"].values()] for r in records if r["task"] == "toy"}
    tested = [r for r in data["rows"] if r["p"] is not None]
    for row in (r for r in tested if r["task"] == "toy" and r["bucket"] == "all"):
        assert row["test"] == "sign"
        assert row["p"] == pytest.approx(reference_p(scores[row["pooling"]], scores["mean"]), abs=1e-12)
    for row in tested:   # Bonferroni within each family (task x model)
        assert row["p_adj"] == pytest.approx(min(1.0, row["p"] * row["family_size"]), abs=1e-12)
    assert any(r["mark"] for r in tested if r["task"] == "toy")


def test_it_runs_in_rank_systems():
    rng = np.random.default_rng(1)
    base = rng.uniform(0, 1, 60)
    systems = {"a": base, "b": base + 0.2, "c": base + rng.normal(0, 0.05, 60)}
    rk = rank_systems({s: dict(enumerate(v)) for s, v in systems.items()}, test="sign", correction="bonferroni")
    assert rk.settings["test"] == "sign" and rk.settings["correction"] == "bonferroni"
    for pr in rk.pairs:
        assert pr.test == "sign" and pr.p == pytest.approx(reference_p(systems[pr.a], systems[pr.b]), abs=1e-12)
        assert pr.p_adj == pytest.approx(min(1.0, 3 * pr.p), abs=1e-12)
    assert rk.rank_of("b") == 1 and rk.rank_of("a") > 1


def test_it_runs_in_the_gate(tmp_path, make_retrieval):
    rng = np.random.default_rng(2)
    then = rng.uniform(0.2, 0.8, 50)
    now = {"same": then, "worse": then - 0.1}
    checksums = {"dataset_checksums": {"corpus.jsonl": "a" * 64}}
    for folder, scores in (("base", {p: then for p in now}), ("now", now)):
        for pooling, s in scores.items():
            rec = make_retrieval("t", "m", pooling, s, np.full(50, 100))
            write_result(tmp_path / folder, {**rec, "meta": checksums})
    write_baseline(tmp_path / "base", tmp_path / "base.json")
    rep = check(tmp_path / "now", tmp_path / "base.json", test="sign", correction="bonferroni")
    rows = {r.pooling: r for r in rep.rows}
    assert rep.settings["test"] == "sign" and {r.test for r in rep.rows} == {"sign"}
    assert rows["worse"].p == pytest.approx(reference_p(now["worse"], then), abs=1e-12)
    assert rows["worse"].verdict == "REGRESSION" and rows["same"].verdict == "same" and not rep.passed
    assert main(["check", str(tmp_path / "now"), "--baseline", str(tmp_path / "base.json"), "--test", "sign"]) == 1


def test_the_leaderboard_config_and_the_report_read_the_registries(tmp_path):
    path = tmp_path / "lb.yaml"
    path.write_text("models: [minilm]\npoolings: [mean]\ntasks: [bbc_retrieval]\n"
                    "ranking: {test: sign, correction: bonferroni}\n")
    assert load_config(path).ranking == {"test": "sign", "correction": "bonferroni"}
    how = explanation({"correction": "bonferroni", "test": "sign"}, ["sign"], 2000, 0)
    assert how["tests"] == [{"name": "sign", "text": SIGN_TEXT}]
    assert how["correction_text"] == "family-wise error, single step"


def test_unregistered_it_is_unknown_again(results_dir):
    STAT_TESTS.unregister("sign")
    with pytest.raises(Exception, match="sign"):
        compare(results_dir, test="sign")


def test_building_the_cli_imports_no_scipy():
    code = ("import sys; from lmkbench.cli import build_parser; build_parser(); "
            "from lmkbench.stats.registry import offered_tests; assert 'wilcoxon' in offered_tests(); "
            "print('scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
