"""`lmkbench report` on the command line, and a report of a real (tiny) `lmkbench run`."""
from __future__ import annotations

import re

import pytest
from markupsafe import escape

from lmkbench.cli import main
from lmkbench.results import iter_results

from report_support import SCRIPT_QUERY


def test_report_command_writes_one_file(fixture_results, tmp_path, capsys):
    out = tmp_path / "reports" / "fixture.html"
    rc = main(["report", str(fixture_results["out"]), "-o", str(out), "--baseline", "mean", "--test", "ttest",
               "--correction", "holm", "--buckets", "0,512,1k,2k,4k,inf", "--title", "Fixture <report>",
               "--ci-resamples", "200", "--resamples", "1000"])
    assert rc == 0
    assert f"wrote {out}" in capsys.readouterr().out
    html = out.read_text(encoding="utf-8")
    assert "<h1>Fixture &lt;report&gt;</h1>" in html and str(escape(SCRIPT_QUERY)) in html
    assert re.findall(r">(4k\+|2k-4k)<", html) == ["2k-4k", "4k+"]
    assert not list(out.parent.glob(".*.tmp"))               # written atomically


@pytest.mark.parametrize("argv,needle", [
    (["report", "/no/such/folder"], "results folder not found"),
    (["report", "{dir}", "--buckets", "0,abc"], "bad bucket edge"),
    (["report", "{dir}", "--baseline", "lmk", "--correction", "holm", "--ci-resamples", "0"], "--ci-resamples"),
])
def test_bad_arguments_are_one_line_and_exit_2(argv, needle, fixture_results, tmp_path, capsys):
    argv = [a.replace("{dir}", str(fixture_results["out"])) for a in argv] + ["-o", str(tmp_path / "r.html")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]


def test_a_baseline_that_matches_nothing_is_an_error(fixture_results, tmp_path, capsys):
    """A mistyped or absent baseline is not a finding of "0 wins, 0 losses": exit 2, naming what exists."""
    out = tmp_path / "r.html"
    assert main(["report", str(fixture_results["out"]), "-o", str(out), "--baseline", "lmk:g=64",
                 "--ci-resamples", "50", "--top-queries", "0"]) == 2
    err = capsys.readouterr().err
    assert "matches no result" in err and "lmk:g=32" in err and not out.exists()
    assert main(["report", str(fixture_results["out"]), "-o", str(out), "--baseline", "meen",
                 "--ci-resamples", "50", "--top-queries", "0"]) == 2
    assert "did you mean 'mean'" in capsys.readouterr().err.lower()


def test_report_of_a_real_tiny_run(tiny_bert, tiny_beir, tmp_path, capsys):
    res = tmp_path / "res"
    assert main(["run", "--model", tiny_bert, "--pooling", "cls,mean,lmk:g=8", "--task", f"beir:{tiny_beir}",
                 "--out", str(res), "--no-cache", "--quiet", "--max-length", "64"]) == 0
    out = tmp_path / "tiny.html"
    assert main(["report", str(res), "-o", str(out), "--min-n", "5", "--ci-resamples", "200"]) == 0
    html = out.read_text(encoding="utf-8")
    recs = {r.pooling: r for r in iter_results(res)}
    assert 'id="tinybeir"' in html and "lmk:g=8" in html
    for pooling, rec in recs.items():            # the table shows each pooling's stored NDCG@10
        assert f"{rec.metrics['ndcg_at_10']:.3f}" in html
    assert re.search(r"<span title=\"what about [a-z ]+\?\">what about [a-z ]+\?</span>", html)  # stored or via the task
    assert rec.meta.versions["torch"] in html and str(rec.meta.max_length) in html
    assert "query text not available" not in html
