"""One task order wherever tasks are listed (issue 29 item 5), and CIs labelled against the marks (item 6)."""
from __future__ import annotations

from pathlib import Path

import pytest

from lmkbench.runner import format_summary
from lmkbench.variants import task_order

SCRAMBLED = ["needle_1024", "needle_2048", "needle_256", "needle_4096", "needle_512", "bbc_retrieval",
             "passkey_512", "needle_pg_256", "passkey_256"]
IN_ORDER = ["bbc_retrieval", "needle_256", "needle_512", "needle_1024", "needle_2048", "needle_4096",
            "needle_pg_256", "passkey_256", "passkey_512"]


def test_task_order_is_family_then_length_as_a_number():
    assert sorted(SCRAMBLED, key=task_order) == IN_ORDER
    assert sorted(["mldr_8k", "mldr_1k", "mldr_512"], key=task_order) == ["mldr_512", "mldr_1k", "mldr_8k"]


def _rows(cut: int):
    return [{"task": t, "pooling": p, "metric": "acc_at_1", "score": 0.5, "truncated": {"corpus": cut, "queries": 0},
             "n_texts": {"corpus": 50, "queries": 50}} for t in SCRAMBLED for p in ("cls", "mean")]


def test_the_console_summary_lists_tasks_in_length_order_and_says_what_was_cut():
    lines = format_summary(_rows(cut=25)).splitlines()
    assert [ln.split()[0] for ln in lines[1:1 + len(IN_ORDER)]] == IN_ORDER
    assert all("(cut 50% corpus)" in ln for ln in lines[1:1 + len(IN_ORDER)])
    assert "cut" not in format_summary(_rows(cut=0))


@pytest.fixture(scope="module")
def comparison():
    from lmkbench.results import load_results
    from lmkbench.stats.compare import compare

    folder = Path(__file__).resolve().parents[1] / "results" / "long-contexts"
    return load_results(folder), compare


@pytest.mark.parametrize("correction", ["holm", "none"])
def test_the_console_table_labels_unadjusted_cis_and_lists_tasks_in_order(comparison, correction):
    records, compare = comparison
    cmp = compare(records, baseline="mean", correction=correction)
    from lmkbench.stats.table import render_table

    text = render_table(cmp, "long")
    headings = [ln.split()[1] for ln in text.splitlines() if ln.startswith("== ")]
    assert headings == sorted(headings, key=task_order) and len(set(headings)) > 2
    header = next(ln for ln in text.splitlines() if ln.startswith("pooling"))
    if correction == "none":
        assert "95% CI " in header and "unadjusted" not in text
    else:
        assert "95% CI (unadjusted)" in header
        assert f"use the {correction}-adjusted p" in text and "not adjusted" in text


def test_settings_side_by_side_lists_tasks_in_length_order(comparison):
    from lmkbench.variants import compare_settings

    records, _ = comparison
    tasks = [r["task"] for r in compare_settings(records, n_resamples=200)["rows"]]
    assert tasks == sorted(tasks, key=task_order) and tasks.index("needle_256") < tasks.index("needle_1024")
