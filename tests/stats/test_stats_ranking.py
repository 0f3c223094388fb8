import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from lmkbench.errors import LmkbenchError
from lmkbench.results import write_result
from lmkbench.stats import rank_results, rank_systems


def _systems(n=80, seed=0, **offsets_noise):
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.2, 0.8, n)
    return {name: {f"q{i}": v for i, v in enumerate(base + off + rng.normal(0, noise, n))}
            for name, (off, noise) in offsets_noise.items()}


def test_clear_winner_and_a_tie():
    scores = _systems(A=(0.2, 0.03), B=(0.0, 0.03), C=(0.002, 0.03))
    rk = rank_systems(scores)
    assert [s.system for s in rk.systems][0] == "A"
    assert rk.rank_of("A") == 1 and rk.rank_of("B") == 2 and rk.rank_of("C") == 2
    a = rk.systems[0]
    assert sorted(a.significantly_better_than) == ["B", "C"] and a.significantly_worse_than == []
    # pairwise p-values are scipy's paired t-tests, Holm-corrected together
    names = ["A", "B", "C"]
    mat = {k: np.array([scores[k][f"q{i}"] for i in range(80)]) for k in names}
    raw = [stats.ttest_rel(mat[x], mat[y]).pvalue for x, y in [("A", "B"), ("A", "C"), ("B", "C")]]
    assert np.allclose([p.p for p in rk.pairs], raw, rtol=1e-9)
    assert np.allclose([p.p_adj for p in rk.pairs], multipletests(raw, method="holm")[1], rtol=1e-9)


def test_all_equal_share_rank_one():
    scores = _systems(A=(0.0, 0.0), B=(0.0, 0.0), C=(0.0, 0.0))
    rk = rank_systems(scores)
    assert [s.rank for s in rk.systems] == [1, 1, 1]


def test_rank_is_monotone_in_the_mean():
    # A > B > C in mean; A vs B significant (low noise), A vs C not (high noise): the raw rule would give
    # B rank 2 and C rank 1; the monotone rule gives C rank 2 as well.
    scores = _systems(n=40, seed=3, A=(0.10, 0.0), B=(0.08, 0.005), C=(0.04, 0.6))
    rk = rank_systems(scores)
    order = [s.system for s in rk.systems]
    assert order == ["A", "B", "C"]
    assert rk.rank_of("A") == 1 and rk.rank_of("B") == 2
    assert rk.rank_of("C") == 2          # raw rule: 1 (nothing beats C significantly)
    assert "A" not in [s for s in rk.systems if s.system == "C"][0].significantly_worse_than


def test_items_missing_somewhere_are_dropped():
    scores = _systems(A=(0.1, 0.05), B=(0.0, 0.05))
    del scores["A"]["q0"]
    scores["B"]["q1"] = float("nan")
    rk = rank_systems(scores)
    assert rk.n_items == 78 and rk.n_dropped == 2


def test_binary_outcomes_use_mcnemar():
    rng = np.random.default_rng(0)
    a = (rng.random(300) < 0.8).astype(int)
    b = (rng.random(300) < 0.6).astype(int)
    rk = rank_systems({"a": dict(enumerate(a)), "b": dict(enumerate(b))})
    assert rk.settings["test"] == "mcnemar" and rk.rank_of("a") == 1 and rk.rank_of("b") == 2


def test_rank_results_per_task_and_over_tasks(records, tmp_path):
    root = tmp_path / "res"
    for rec in records:
        write_result(root, rec)
    rk = rank_results(root, task="toy")
    assert rk.rank_of("lmk:g=32") == 1 and rk.rank_of("cls") == 4     # competition ranking: 1, 2, 2, 4
    assert rk.rank_of("mean") == rk.rank_of("same") == 2
    over = rank_results(root, task=None)         # items = tasks; only two tasks have both systems
    assert over.n_items == 1 and all(s.rank == 1 for s in over.systems)   # too few tasks to separate
    assert over.to_dict()["schema"] == "lmkbench.ranking/1"
    with pytest.raises(LmkbenchError):
        rank_results(root, task="nope")
    with pytest.raises(LmkbenchError):
        rank_systems({})
