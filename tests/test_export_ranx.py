"""``lmkbench export --format ranx``: ranx reads the runs back and its paired t-test agrees with ``compare``."""
from __future__ import annotations

import pytest

from _export_results import run_tiny, task_file
from lmkbench.cli import main
from lmkbench.results import iter_results
from lmkbench.stats.compare import compare

ranx = pytest.importorskip("ranx")


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny_bert):
    root = tmp_path_factory.mktemp("ranx_export")
    mp = pytest.MonkeyPatch()
    mp.setenv("LMKBENCH_TASKS", str(task_file(root)))
    results = run_tiny(tiny_bert, root / "results", root / "cache", ["x_graded", "x_single_256", "x_classes"],
                       poolings=("cls", "mean", "lmk:g=8"))
    out = root / "ranx"
    assert main(["export", str(results), "--format", "ranx", "-o", str(out)]) == 0
    yield results, out
    mp.undo()


@pytest.mark.parametrize("task", ["x_graded", "x_single_256"])
def test_ranx_compare_matches_lmkbench_ttest(exported, task, capsys):
    results, out = exported
    qrels = ranx.Qrels.from_file(str(out / task / "qrels.trec"), kind="trec")
    model = next(p.name for p in (out / task).iterdir() if p.is_dir())
    retrieval = [r for r in iter_results(results) if r.task_kind == "retrieval"]
    cmp = compare(retrieval, baseline="mean", test="ttest", correction="none", metric="ndcg_at_10")
    base = ranx.Run.from_file(str(out / task / model / "mean.trec"), kind="trec")
    assert base.name == f"{model}|mean"
    for pooling, file in (("cls", "cls.trec"), ("lmk:g=8", "lmk_g=8.trec")):
        other = ranx.Run.from_file(str(out / task / model / file), kind="trec")
        report = ranx.compare(qrels, [base, other], metrics=["ndcg@10"], stat_test="student", max_p=0.05)
        p_ranx = report.comparisons[base.name, other.name]["ndcg@10"]["p_value"]
        row = cmp.cell(task, model, pooling)
        assert row.test == "ttest" and row.n_paired == 20
        assert p_ranx == pytest.approx(row.p_adj, rel=1e-9, abs=1e-12)
        assert ranx.evaluate(qrels, other, "ndcg@10") == pytest.approx(row.mean, abs=1e-9)


def test_graded_qrels_come_from_the_data(exported):
    _, out = exported
    lines = (out / "x_graded" / "qrels.trec").read_text().split("\n")
    assert "q0 0 x0 2" not in lines and "q0 0 d0_0 2" in lines and "q0 0 d0_1 1" in lines
    assert len(lines) == 40
    assert not (out / "x_classes").exists()                       # no ranking, skipped


def test_a_missing_package_is_one_error_before_any_result_is_read(monkeypatch, tmp_path):
    """``Exporter.needs`` is checked once, by export(), for every format (no per-format import guard)."""
    from lmkbench.errors import LmkbenchError
    from lmkbench.export import export
    from lmkbench.export.ranx import RanxExporter

    monkeypatch.setattr(RanxExporter, "needs", "lmkbench_no_such_package")
    with pytest.raises(LmkbenchError, match=r"--format ranx needs lmkbench_no_such_package \(pip install"):
        export(tmp_path / "absent", "ranx", tmp_path / "out")
