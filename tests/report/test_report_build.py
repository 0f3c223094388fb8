"""The report's HTML: self-contained, escaped, and its numbers agree with independent computations."""
from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape
from scipy import stats

from lmkbench.report import ReportOptions, render_report
from lmkbench.report.build import environment
from lmkbench.report.collect import build_sections
from lmkbench.report.drilldown import TaskDataLoader, disagreements
from lmkbench.report.summary import wall_time
from lmkbench.report.tables import depth_grids, family_table, metric_table
from lmkbench.results import iter_results
from lmkbench.stats import buckets as bk
from lmkbench.stats import compare
from lmkbench.stats.tests import default_batch

from report_support import SCRIPT_QUERY

DATA_URI = re.compile(r"data:(image/[a-z+]+);base64,([A-Za-z0-9+/=]+)")


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend((tag, k, v or "") for k, v in attrs)

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> _Tags:
    p = _Tags()
    p.feed(html)
    return p


def test_report_is_self_contained(fixture_report):
    html = fixture_report["html"]
    tags = parse(html)
    assert "script" not in tags.tags and "link" not in tags.tags and "iframe" not in tags.tags
    for tag, name, value in tags.attrs:
        if name in ("src", "href", "srcset", "action", "poster", "data"):
            # the one other link: a relative path to a sibling page on disk (the matched experiment's finding), a
            # navigation on click that loads nothing into this page
            local_page = tag == "a" and name == "href" and re.fullmatch(r"(\.\./)*[\w.-]+(/[\w.-]+)*\.html", value)
            assert value.startswith("data:") or value.startswith("#") or local_page, (tag, name, value[:80])
    without_images = DATA_URI.sub("", html)
    assert not re.search(r"(?i)https?:|//[a-z0-9]|url\(|@import", without_images)
    csp = [v for t, k, v in tags.attrs if t == "meta" and k == "content" and "default-src" in v]
    assert csp == ["default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"]


def test_dataset_text_is_escaped(fixture_report):
    html = fixture_report["html"]
    assert SCRIPT_QUERY not in html and "<script>alert" not in html
    assert str(escape(SCRIPT_QUERY)) in html                      # shown as text (loaded from the BEIR folder)
    assert "short query S15 &lt;i&gt;x&lt;/i&gt;" in html          # stored query_text, escaped too
    tags = parse(html)
    assert tags.tags.count("b") == html.count("<b>") and "i" in tags.tags   # only the template's own markup
    assert any(SCRIPT_QUERY in t for t in tags.text)              # the parser sees the query as plain text


def test_templates_autoescape_whatever_their_name():
    env = environment()
    assert env.autoescape is True
    assert env.from_string("{{ x }}").render(x="<script>x</script>") == "&lt;script&gt;x&lt;/script&gt;"


def test_sections_are_ordered_and_anchored(fixture_report):
    ids = re.findall(r'<section id="([^"]+)"', fixture_report["html"])
    assert ids == ["overview", "summary", "shortqa", "longqa", "passkey", "topics", "how-to-read"]
    for anchor in ids:
        assert f'href="#{anchor}"' in fixture_report["html"]


@pytest.fixture(scope="module")
def cmp_and_sections(fixture_results):
    records = list(iter_results(fixture_results["out"]))
    cmp = compare(records, baseline="mean", test="ttest", correction="holm", n_resamples=2000)
    return records, cmp, {s.title: s for s in build_sections(records, "mean")}


def test_metric_table_matches_numpy_scipy_and_the_comparison(cmp_and_sections, fixture_results):
    records, cmp, sections = cmp_and_sections
    table = metric_table(sections["longqa"], cmp, n_resamples=700, seed=3)
    assert [c["label"] for c in table["columns"]] == ["ndcg_at_10", "mrr_at_10", "recall_at_100", "acc_at_1"]
    rows = {r["pooling"]: r for r in table["rows"]}
    assert list(rows) == ["mean", "cls", "lmk:g=32"] and rows["mean"]["is_baseline"]
    rec = next(r for r in records if r.task == "longqa" and r.pooling == "lmk:g=32")
    scores = np.array([v["ndcg_at_10"] for v in rec.items.values()])
    cell = rows["lmk:g=32"]["cells"][0]
    assert cell.mean == pytest.approx(scores.mean()) and cell.n == 120
    ref = stats.bootstrap((scores,), np.mean, method="percentile", n_resamples=700, batch=default_batch(scores.size),
                          rng=np.random.default_rng(3))
    assert (cell.lo, cell.hi) == pytest.approx((ref.confidence_interval.low, ref.confidence_interval.high), abs=1e-12)
    for pooling, expected in (("lmk:g=32", "win"), ("cls", "loss")):
        row = cmp.cell("longqa", "tiny-model", pooling)
        c = rows[pooling]["cells"][0]
        assert c.mark == row.mark == expected and c.p_adj == row.p_adj and c.diff == row.mean_diff
    assert rows["mean"]["cells"][0].mark is None and rows["mean"]["cells"][0].p_adj is None
    assert rows["lmk:g=32"]["cells"][0].best and not rows["cls"]["cells"][0].best
    # only the main metric is tested
    assert all(c.p_adj is None for r in table["rows"] for c in r["cells"][1:])


def test_classification_main_metric_uses_its_per_item_score(cmp_and_sections):
    records, cmp, sections = cmp_and_sections
    table = metric_table(sections["topics"], cmp, n_resamples=200)
    rows = {r["pooling"]: r for r in table["rows"]}
    rec = next(r for r in records if r.task == "topics" and r.pooling == "cls")
    # every number under its own name: stored accuracy, then the tested per-item 'correct', then f1
    assert [c["label"] for c in table["columns"]] == ["accuracy", "correct", "f1"]
    acc, correct, f1 = rows["cls"]["cells"]
    assert acc.mean == rec.metrics["accuracy"] and acc.lo is None and acc.p_adj is None
    assert correct.mean == pytest.approx(rec.metrics["accuracy"]) and correct.n == 50 and correct.lo is not None
    assert f1.mean == 0.5 and f1.lo is None and f1.n == 0           # whole-set value: no interval
    assert correct.p_adj == cmp.cell("topics", "tiny-model", "cls").p_adj


def test_synthetic_family_is_one_section_over_target_lengths(cmp_and_sections):
    records, cmp, sections = cmp_and_sections
    sec = sections["passkey"]
    assert sec.tasks == ["passkey_256", "passkey_512", "passkey_1024", "passkey_2048"] and sec.synthetic
    table = family_table(sec, cmp, n_resamples=200)
    assert [c["label"] for c in table["columns"]] == ["256", "512", "1k", "2k"]
    for row in table["rows"]:
        for task, cell in zip(sec.tasks, row["cells"]):
            rec = next(r for r in records if r.task == task and r.pooling == row["pooling"])
            assert cell.mean == pytest.approx(np.mean([v["acc_at_1"] for v in rec.items.values()]))
            assert cell.mark == (None if row["is_baseline"] else cmp.cell(task, "tiny-model", row["pooling"]).mark)


def test_depth_heatmap_matches_pandas_pivot(cmp_and_sections):
    records, cmp, sections = cmp_and_sections
    depth_bins = bk.depth_buckets(bk.DEFAULT_DEPTH_EDGES)
    lengths, grids, counts = depth_grids(sections["passkey"], depth_bins)
    assert lengths == [256.0, 512.0, 1024.0, 2048.0]
    rows = [{"pooling": r.pooling, "L": v["target_length"], "depth": v["depth"], "acc": v["acc_at_1"]}
            for r in records if r.task.startswith("passkey") for v in r.items.values()]
    df = pd.DataFrame(rows)
    df["bin"] = pd.cut(df["depth"], [0, 0.2, 0.4, 0.6, 0.8, 1.0], right=False, labels=False, include_lowest=True)
    for pooling in ("mean", "cls", "lmk:g=32"):
        sub = df[df.pooling == pooling]
        ref = sub.pivot_table(index="L", columns="bin", values="acc", aggfunc="mean").reindex(
            index=[256, 512, 1024, 2048], columns=range(5))
        n = sub.pivot_table(index="L", columns="bin", values="acc", aggfunc="size").reindex(
            index=[256, 512, 1024, 2048], columns=range(5)).fillna(0)
        np.testing.assert_allclose(grids[pooling], ref.to_numpy(dtype=float), equal_nan=True)
        np.testing.assert_array_equal(counts[pooling], n.to_numpy())
    assert sum(counts["mean"].sum() for _ in [0]) == 80


def test_drilldown_ranks_come_from_the_trec_runs(cmp_and_sections, fixture_results):
    records, cmp, sections = cmp_and_sections
    d = disagreements(sections["longqa"], TaskDataLoader(), top_n=5)
    assert d["poolings"] == ["mean", "cls", "lmk:g=32"] and len(d["rows"]) == 5 and not d["notes"]
    top = d["rows"][0]
    assert top["id"] == "L005" and top["query"] == SCRIPT_QUERY and top["gold"] == ["dL005"]
    ranks = fixture_results["ranks"]["longqa"]
    for row in d["rows"]:
        for cell in row["cells"]:
            expected = ranks[cell["pooling"]][row["id"]]
            assert cell["rank"] == expected and cell["rank_text"] == (str(expected) if expected else ">100")
    spreads = [r["spread"] for r in d["rows"]]
    assert spreads == sorted(spreads, reverse=True) and spreads[0] == 1.0
    # a query the cls run never retrieved shows ">100"
    row = next(r for r in disagreements(sections["longqa"], TaskDataLoader(), top_n=200)["rows"] if r["id"] == "L007")
    assert next(c for c in row["cells"] if c["pooling"] == "cls")["rank_text"] == ">100"


def test_drilldown_of_a_synthetic_family_uses_stored_gold_docs(cmp_and_sections, fixture_results):
    records, cmp, sections = cmp_and_sections
    d = disagreements(sections["passkey"], TaskDataLoader(), top_n=8)
    assert len(d["rows"]) == 8 and all(r["spread"] == 1.0 for r in d["rows"])
    for row in d["rows"]:
        assert row["gold"] == [f"d{row['qid']}"] and row["target_length"] == int(row["task"].split("_")[1])
        for cell in row["cells"]:
            expected = fixture_results["ranks"][row["task"]][cell["pooling"]][row["qid"]]
            assert cell["rank"] == expected
    # query texts of a synthetic task need the model's tokenizer (absent here): said, not guessed
    assert all(r["query"] is None for r in d["rows"])
    assert d["notes"] and all(n.startswith("passkey_") for n in d["notes"])


def test_drilldown_without_task_data_reads_ranks_off_mrr(cmp_and_sections):
    records, cmp, sections = cmp_and_sections
    d = disagreements(sections["longqa"], TaskDataLoader(load_data=False), top_n=3)
    top = d["rows"][0]
    assert top["id"] == "L005" and top["query"] is None and top["gold"] == []
    assert [c["rank_text"] for c in top["cells"]] == [">10", ">10", "1"]
    assert any("--no-task-data" in n for n in d["notes"]) and any("MRR@10" in n for n in d["notes"])
    # stored query_text / relevant need no task data
    s = disagreements(sections["shortqa"], TaskDataLoader(load_data=False), top_n=3)
    assert all(r["query"].startswith("short query") and r["gold"] == [f"d{r['id']}"] for r in s["rows"])


def test_figures_are_inline_svg_naming_the_poolings(fixture_report):
    uris = DATA_URI.findall(fixture_report["html"])
    assert len(uris) == 5      # summary Δ figure; longqa + topics length figures, passkey length figure + heatmap
    for mime, payload in uris:
        assert mime == "image/svg+xml"
        svg = base64.b64decode(payload).decode("utf-8")
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg") and "lmk:g=32" in svg and "<script" not in svg


def test_png_figures_and_other_settings(fixture_results):
    from PIL import Image
    import io

    html = render_report(fixture_results["out"], ReportOptions(figure_format="png", test="wilcoxon", correction="bh",
                                                               buckets="0,1k,inf", ci_resamples=100, top_queries=0,
                                                               title="Pooling <study> & co"))
    uris = DATA_URI.findall(html)
    assert uris and all(m == "image/png" for m, _ in uris)
    assert Image.open(io.BytesIO(base64.b64decode(uris[0][1]))).format == "PNG"
    assert "<title>Pooling &lt;study&gt; &amp; co</title>" in html
    assert "Benjamini–Hochberg" in html and "Wilcoxon signed-rank" in html
    assert ">0-1k<" in html and ">1k+<" in html and "Queries where the poolings disagree" not in html


def test_wall_time_counts_shared_encoding_once():
    from lmkbench.results import ResultRecord

    def rec(meta):
        return ResultRecord.from_json({"task": "t", "model": "m", "pooling": "p", "main_metric": "x", "metrics": {},
                                       "meta": meta})

    shared = {"load_s": 1.0, "encode_queries_s": 2.0, "encode_corpus_s": 10.0}
    recs = [rec({"timings": {**shared, "evaluate_s": e}}) for e in (0.5, 0.25, 0.25)]
    assert wall_time(recs) == pytest.approx(13.0 + 1.0)
    later = rec({"timings": {"load_s": 1.0, "encode_queries_s": 3.0, "encode_corpus_s": 4.0, "evaluate_s": 1.0}})
    assert wall_time(recs + [later]) == pytest.approx(14.0 + 9.0)
    assert wall_time([rec({})]) is None


def test_summary_shows_meta(fixture_report):
    html = fixture_report["html"]
    for text in ("tiny-model", "2.13.0", "Linux-test", "abc123", "beir:", "CC BY 4.0", "truncate", "fp32"):
        assert text in html
    assert "Against the baseline" in html and "how-to-read" in html
