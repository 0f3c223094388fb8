"""Issue 11: a report that cannot be misread. Fixture results of a checkpoint trained with mean pooling:
a clustering task (whole-set V-measure, per-item correct_rate), a long retrieval task run with windows (every
long text split, nothing cut) with one tiny length bucket, and a passkey family past the position limit."""
from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from report_support import metrics_for_rank, run_with_gold
from lmkbench.report import ReportOptions, render_report
from lmkbench.results import write_result

MODEL = "mini"
POOLINGS = ("mean", "cls", "lmk:g=32")
V_MEASURE = {"mean": 0.670, "cls": 0.532, "lmk:g=32": 0.705}
CORRECT_RATE = {"mean": 0.752, "cls": 0.645, "lmk:g=32": 0.777}
LIMIT = 256          # the results' max length (MiniLM as shipped) ...
POSITIONS = 512      # ... which is not its position limit


def _meta(pooling, *, trained="mean", policy="truncate", truncated=None, split=None, n_texts=None):
    meta = {"model_path": "/models/mini", "device": "cpu", "dtype": "fp32", "max_length": LIMIT,
            "position_limit": POSITIONS,
            "long_policy": policy, "truncated": truncated or {}, "n_texts": n_texts or {},
            "trained_pooling": trained, "pooling_mismatch": trained is not None and pooling != trained,
            "timings": {"load_s": 0.1, "encode_texts_s": 4.0, "evaluate_s": 0.2},
            "encode_stats": {"texts": {"tokens": 3000, "per_family_tokens": {"plain": 1000, "lmk:g=32": 2000}}}}
    if split is not None:
        meta["split"] = split
    return meta


def write_results(out, trained="mean"):
    rng = np.random.default_rng(11)
    # clustering: v_measure is a whole-set score; correct_rate is per item
    n = 1000
    for p in POOLINGS:
        k = int(round(CORRECT_RATE[p] * n))
        rate = np.r_[np.ones(k), np.zeros(n - k)]
        per_item = {f"c{i}": {"correct": int(r), "correct_rate": float(r), "label": "x", "cluster": 0,
                              "length": int(rng.integers(50, 400)), "truncated": False} for i, r in enumerate(rate)}
        write_result(out, {"task": "bbc_clustering", "task_kind": "clustering", "task_group": "clustering",
                           "split": "test", "model": MODEL, "pooling": p, "main_metric": "v_measure",
                           "metrics": {"v_measure": V_MEASURE[p], "purity": float(rate.mean())},
                           "per_item": per_item, "meta": _meta(p, trained=trained, n_texts={"texts": n})})
    # long retrieval under --long windows: every long document split, none cut; one bucket of 3 queries
    lengths = [300] * 30 + [1500] * 32 + [5000] * 3
    base = rng.integers(1, 6, len(lengths))
    for j, p in enumerate(POOLINGS):
        per_query, run = {}, {}
        for i, L in enumerate(lengths):
            qid = f"q{i}"
            rank = int(max(1, base[i] + (j - 1) * (L > 1000) + rng.integers(-1, 2)))
            per_query[qid] = {**metrics_for_rank(rank), "length": L, "lengths": [L], "truncated": False,
                              "split": L > LIMIT}
            run[qid] = run_with_gold(qid, f"d{qid}", rank)
        metrics = {m: float(np.mean([v[m] for v in per_query.values()])) for m in ("ndcg_at_10", "mrr_at_10")}
        write_result(out, {"task": "qmsum", "task_kind": "retrieval", "task_group": "long-retrieval", "split": "test",
                           "model": MODEL, "pooling": p, "main_metric": "ndcg_at_10", "metrics": metrics,
                           "per_query": per_query,
                           "meta": _meta(p, trained=trained, policy="windows", truncated={"corpus": 0, "queries": 0},
                                         split={"corpus": 35, "queries": 0}, n_texts={"corpus": 35, "queries": 65})},
                     run)
    # passkey family, cut at the position limit: a needle past it is lost
    for L in (128, 512, 1024):
        for p in POOLINGS:
            per_query, run = {}, {}
            for i in range(20):
                depth = (i % 10) / 10 + 0.05
                lost = L > LIMIT and depth * L >= LIMIT
                hit = not lost and rng.uniform() < (0.9 if p != "cls" else 0.6)
                rank = 1 if hit else int(rng.integers(2, 30))
                qid = f"p{L}_{i}"
                per_query[qid] = {**metrics_for_rank(rank), "length": L, "lengths": [L], "target_length": L,
                                  "depth": depth, "doc_tokens": L, "truncated": L > LIMIT}
                run[qid] = run_with_gold(qid, f"d{qid}", rank)
            write_result(out, {"task": f"passkey_{L}", "task_kind": "retrieval", "task_group": "synthetic",
                               "split": "test", "model": MODEL, "pooling": p, "main_metric": "acc_at_1",
                               "metrics": {"acc_at_1": float(np.mean([v["acc_at_1"] for v in per_query.values()]))},
                               "per_query": per_query, "meta": _meta(p, trained=trained)}, run)
    return out


class _Tables(HTMLParser):
    """Text of every table cell, by section id: {section: [[row cells], ...]} for tables of a class."""

    def __init__(self, klass):
        super().__init__()
        self.klass, self.section, self.depth, self.rows, self.cell = klass, None, 0, {}, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.section = a.get("id")
        elif tag == "table":
            self.depth += 1 if self.klass in (a.get("class") or "").split() else 0
        elif self.depth and tag == "tr":
            self.rows.setdefault(self.section, []).append([])
        elif self.depth and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "table" and self.depth:
            self.depth -= 1
        elif self.depth and tag in ("td", "th") and self.cell is not None:
            self.rows[self.section][-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def tables(html, klass):
    parser = _Tables(klass)
    parser.feed(html)
    return parser.rows


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = write_results(tmp_path_factory.mktemp("reading") / "results")
    html = render_report(out, ReportOptions(ci_resamples=200, n_resamples=500, load_task_data=False))
    return {"out": out, "html": html}


def test_banner_says_which_poolings_were_not_trained(report):
    html = report["html"]
    banner = html[html.index('id="untrained-banner"'):html.index("</div>", html.index('id="untrained-banner"'))]
    assert html.index('id="untrained-banner"') < html.index('<section id="overview"')       # at the top
    assert "cannot say which pooling is better: mini is a single checkpoint, trained with mean pooling" in banner
    assert "cls, lmk:g=32 are read here with a pooling the checkpoint never learned" in banner
    assert "matched experiment" in banner or "lmkbench train-matched" in banner
    assert banner.count("<p>") == 1                                         # one banner per fact
    # a mark at each affected table: every section's pooling cells of cls and lmk carry it, mean's never
    for sec in ("bbc-clustering", "qmsum"):
        rows = tables(html, "scores")[sec]
        marked = {r[0].split()[0]: "not trained pooling" in r[0] for r in rows[1:]}
        assert marked == {"mean": False, "cls": True, "lmk:g=32": True}
    assert html.count('class="warn untrained-note"') == 3                 # clustering, qmsum, passkey


def test_an_unknown_trained_pooling_is_said_once_and_marks_no_pooling(tmp_path):
    out = write_results(tmp_path / "r", trained=None)
    html = render_report(out, ReportOptions(ci_resamples=100, n_resamples=200, load_task_data=False))
    assert "not trained pooling" not in html and "cannot say which pooling is better" not in html
    banner = html[html.index('id="untrained-banner"'):html.index("</div>", html.index('id="untrained-banner"'))]
    assert banner.count("<p>") == 1 and "Trained pooling unknown for mini" in banner
    assert "trained pooling: unknown" in html                                 # the models table says it too


def test_clustering_shows_v_measure_under_its_own_name(report):
    rows = tables(report["html"], "scores")["bbc-clustering"]
    head = rows[0]
    assert head[1].startswith("v_measure") and "whole-set" in head[1]
    assert head[2].startswith("correct_rate") and "tested" in head[2]
    by_pool = {r[0].split()[0]: r for r in rows[1:]}
    for p in POOLINGS:
        assert by_pool[p][1] == f"{V_MEASURE[p]:.3f}"                      # the stored v_measure, no CI
        assert by_pool[p][2].startswith(f"{CORRECT_RATE[p]:.3f}")          # correct_rate, with its CI
    assert "Δ correct_rate vs baseline" in " ".join(head)
    assert "tested per item: correct_rate" in report["html"]


def test_windows_are_split_not_truncated(report):
    html = report["html"]
    summary = html[html.index('<section id="summary"'):html.index("</section>", html.index('<section id="summary"'))]
    row = next(r for r in re.findall(r"<tr><td>qmsum.*?</tr>", summary, re.S))
    cells = re.findall(r'<td class="num">(.*?)</td>', row, re.S)
    cut, split = cells[2], cells[3]
    assert "corpus 0 (0%)" in cut and "corpus 35 (100%)" in split
    # the data split column still names the split ("test"), not the windows counts
    assert re.findall(r"<td>(.*?)</td>", row, re.S)[3] == "test"
    sec = html[html.index('<section id="qmsum"'):html.index("</section>", html.index('<section id="qmsum"'))]
    assert 'title="encoded as several windows: nothing lost">split' in sec
    assert "· truncated" not in sec and 'class="cut"' not in sec


def test_family_is_per_task_and_said(report, tmp_path):
    html = report["html"]
    assert "within one family per task and model" in html
    sec = html[html.index('<section id="qmsum"'):html.index("</section>", html.index('<section id="qmsum"'))]
    assert re.search(r"holm within one family per task and model, its poolings × buckets \(\d+ tests\)", sec)
    every = render_report(report["out"], ReportOptions(ci_resamples=100, n_resamples=200, load_task_data=False,
                                                       family="all"))
    assert "within one family over every task, model, pooling and bucket" in every


def _svgs(html):
    return [base64.b64decode(p).decode() for p in re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", html)]


def test_synthetic_limit_and_beyond_limit_cells(report):
    html = report["html"]
    sec = html[html.index('<section id="passkey"'):html.index("</section>", html.index('<section id="passkey"'))]
    svgs = _svgs(sec)
    assert any(f"max length {LIMIT} (texts beyond it are cut)" in s for s in svgs)   # marked on the length plot
    assert not any(f"position limit {LIMIT}" in s for s in svgs)           # the max length is not the limit
    assert any("past max" in s for s in svgs)                               # greyed cells in the heatmap
    m = re.search(r"(\d+) cell\(s\) hatched grey", sec)
    assert m and int(m.group(1)) > 0 and f"past the max length ({LIMIT} tokens)" in sec
    assert f"position limit {POSITIONS}" in html                            # the models table says the limit
    scores = sec[sec.index('<table class="scores">'):sec.index("</table>", sec.index('<table class="scores">'))]
    assert "cut 100%" in scores                                            # beside every score of a cut length


def test_small_buckets_are_faint_and_y_axis_said(report):
    html = report["html"]
    sec = html[html.index('<section id="qmsum"'):html.index("</section>", html.index('<section id="qmsum"'))]
    rows = re.findall(r'<td class="num[^"]*small[^"]*" title="n = 3 \(too few to test\)', sec)
    assert len(rows) == 3                                                   # the 4k-8k bucket, every pooling
    assert any("(few)" in s for s in _svgs(sec))
    # nDCG here lies in 0.4..0.9: matplotlib starts the axis above 0, and caption and figure say so
    m = re.search(r"The y-axis starts at ([0-9.]+), not 0", sec)
    assert m and float(m.group(1)) > 0
    assert any(f"y-axis starts at {m.group(1)}, not 0" in s for s in _svgs(sec))


def test_summary_matrix_and_cost_come_first(report):
    html = report["html"]
    rows = tables(html, "matrix")["overview"]
    assert [r[0] for r in rows[1:]] == ["qmsum", "passkey_128", "passkey_512", "passkey_1024", "bbc_clustering"]
    assert rows[0][3].startswith("Δ cls") and "⚠" in rows[0][3]
    clu = rows[-1]
    assert clu[1].startswith("correct_rate") and "whole-set" in clu[1]
    assert clu[3].startswith(f"{CORRECT_RATE['cls'] - CORRECT_RATE['mean']:+.4f}▼")
    cost = {r[1]: r for r in tables(html, "cost")["overview"][1:]}
    assert cost["mean"][2] == "5,000" and cost["mean"][7] == "cls"          # 5 tasks × the plain family's 1000
    assert cost["lmk:g=32"][2] == "10,000"                                 # 5 tasks × its family's 2000
    assert cost["lmk:g=32"][3] == "2.00" and cost["mean"][3] == "–"        # tokens as a multiple of the baseline's
    # the first screen answers: a sentence per comparison, then the Δ-by-length figure, then the matrix
    overview = html[html.index('id="overview"'):html.index('id="summary"')]
    assert overview.index('class="answers"') < overview.index("<figure>") < overview.index('class="matrix"')
    answers = re.findall(r'<li><span class="pooling who">([^<]+)</span>', overview)
    assert answers == ["cls vs mean", "lmk:g=32 vs mean"]
    cls = overview[overview.index(">cls vs mean<"):overview.index("</li>", overview.index(">cls vs mean<"))]
    assert re.search(r"worse on \d+ of \d+ tasks \([^)]*bbc_clustering", cls) and "adjusted p ≤" in cls
    assert html.index('id="overview"') < html.index('id="summary"') < html.index('id="qmsum"')
    assert len(_svgs(html[html.index('id="overview"'):html.index('id="summary"')])) == 1


def test_wins_ties_losses_and_mde_in_tables(report):
    sec = report["html"][report["html"].index('<section id="qmsum"'):]
    assert "W/T/L" in sec and "MDE80" in sec
