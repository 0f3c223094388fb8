"""The manual cannot drift from the code: its tables and references are generated (docs/gen) from the same
registries, parsers and record models the CLI prints, every page's blocks resolve, and the README is a short
front door whose links land in the manual."""
from __future__ import annotations

import io
import re
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest
import yaml

from _support import REPO

sys.path.insert(0, str(REPO))
from docs.gen import BLOCKS, UnknownBlock, cli, expand  # noqa: E402

MANUAL = REPO / "docs" / "manual"
README = REPO / "README.md"


def page(name: str) -> str:
    return expand((MANUAL / name).read_text(), name)


def run_cli(*argv: str) -> str:
    from lmkbench.cli import main

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(list(argv)) == 0
    return out.getvalue()


def test_every_page_is_in_the_nav_and_every_block_resolves():
    nav = yaml.safe_load((REPO / "mkdocs.yml").read_text().split("\nnav:", 1)[1].join(["nav:", ""]))["nav"]

    def leaves(items):
        for item in items:
            for v in item.values():
                yield from (leaves(v) if isinstance(v, list) else [v])

    listed = set(leaves(nav))
    pages = {str(p.relative_to(MANUAL)) for p in MANUAL.rglob("*.md")}
    assert listed == pages
    for name in sorted(pages):
        assert "<!-- gen:" not in page(name), name


def test_an_unknown_block_is_an_error():
    with pytest.raises(UnknownBlock, match="gen:nope|'nope'"):
        expand("text\n<!-- gen:nope -->\n", "x.md")


@pytest.mark.parametrize("name,marker", [("cli.md", "cli"), ("poolings.md", "poolings"), ("tasks.md", "tasks"),
                                         ("long-contexts.md", "positions"), ("results.md", "result-record"),
                                         ("results.md", "result-meta"), ("benchmarks.md", "benchmarks"),
                                         ("comparison.md", "stat-tests"), ("tasks.md", "loaders")])
def test_reference_tables_are_generated_not_copied(name, marker):
    assert f"<!-- gen:{marker} -->" in (MANUAL / name).read_text()


def test_cli_page_is_every_commands_help():
    text = page("cli.md")
    _, subs, _ = cli.commands()
    assert len(subs) >= 10
    for name in subs:
        assert cli.help_text(name) in text, name
        assert f"## lmkbench {name}\n" in text


def test_cli_help_text_is_what_lmkbench_prints(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", cli.WIDTH)
    from lmkbench.cli import main

    assert main(["poolings", "--help"]) == 0
    assert capsys.readouterr().out == cli.help_text("poolings")


def test_poolings_page_matches_lmkbench_poolings():
    text = page("poolings.md")
    printed = run_cli("poolings", "--markdown")
    rows = [line for line in printed.splitlines() if line.startswith("| `")]
    assert rows
    for row in rows:
        name, canonical, family = (c.strip(" `") for c in row.strip("|").split("|")[:3])
        assert f"| `{name}` | `{canonical}` | `{family}` |" in text
    from lmkbench.positions import POSITIONS

    positions = page("long-contexts.md")
    for e in POSITIONS:
        assert f"| `{e.name}` |" in positions


def test_tasks_page_lists_the_catalogue():
    import json

    text = page("tasks.md")
    listed = json.loads(run_cli("tasks", "--json", "--no-measure"))
    assert len(listed["tasks"]) > 10
    for t in listed["tasks"]:
        assert re.search(rf"\| `{re.escape(t['name'])}` \| {t['kind']} \| {t['group']} \|", text), t["name"]
    for suite in listed["suites"]:
        assert f"| `{suite}` |" in text
    from lmkbench.tasks.registry import LOADERS

    for e in LOADERS:
        assert f"| `{e.name}` |" in text


def test_results_page_has_every_record_field():
    import dataclasses

    from lmkbench.gate import BaselineCell
    from lmkbench.results import ResultMeta, ResultRecord

    text = page("results.md")
    names = [f.name for f in dataclasses.fields(ResultRecord)] + list(ResultMeta.model_fields) \
        + list(BaselineCell.model_fields)
    for name in names:
        assert f"| `{name}` |" in text, name


def test_benchmarks_page_renders_every_committed_file_with_its_machine():
    import json

    text = page("benchmarks.md")
    files = sorted((REPO / "results" / "benchmarks").glob("*.json"))
    assert files
    for path in files:
        d = json.loads(path.read_text())
        assert f"### `{path.name}`" in text
        assert d["machine"]["cpu_model"] in text
        for fig in d["figures"]:
            assert f"| `{fig['name']}` |" in text


def test_a_new_registration_shows_up_in_the_generated_page():
    """Generated, not copied: a pooling registered now is on the page without touching the page."""
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from lmkbench.poolings import POOLINGS, Pooling\n"
            "POOLINGS.register('docs_probe', help='probe')(type('P', (Pooling,), {}))\n"
            "from docs.gen import BLOCKS\n"
            "assert '| `docs_probe` | `docs_probe` | `plain` |' in BLOCKS['poolings']()\n") % str(REPO)
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_readme_is_a_short_front_door_into_the_manual():
    text = README.read_text()
    assert len(text.splitlines()) <= 250
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [l for l in links if not re.match(r"[a-z]+://", l)]
    assert any(l.startswith("docs/manual/") for l in local)
    for link in local:
        assert (REPO / link).exists(), link
    for command in ("make demo", "make test", "make docs"):
        assert command in text


def test_blocks_are_all_used():
    used = set()
    for p in MANUAL.rglob("*.md"):
        used |= set(re.findall(r"<!-- gen:([a-z0-9-]+) -->", p.read_text()))
    assert used == set(BLOCKS)


def test_the_extrapolation_block_reads_the_committed_experiment(tmp_path, monkeypatch):
    """The block renders what matched.json and comparison.json hold (not copies), and says so when absent."""
    import json as _json

    from docs.gen import extrapolation

    monkeypatch.setattr(extrapolation, "FOLDER", tmp_path)
    assert "not in this checkout" in extrapolation.render()
    arms = [{"name": f"m-{p}-s{s}", "pooling": p, "train_pooling": p, "seed": s, "train_wall_s": 60.0 * (s + 1),
             "eval_wall_s": {"512": 30.0}, "evaluations": {"512": {"t": v}}}
            for p, s, v in [("mean", 0, 0.5), ("cls", 0, 0.4), ("mean", 1, 0.7), ("cls", 1, 0.2)]]
    matched = {"base": "minilm", "data": "crop:x", "seeds": [0, 1], "arms": arms, "overlap": None,
               "settings": {"steps": 3, "batch_size": 2, "doc_max_length": 128, "query_max_length": 32},
               "summary": [{"task": "t", "metric": "ndcg_at_10"}]}
    spread = {"task": "t", "model": "m-matched~512", "pooling": "cls", "baseline": "mean", "metric": "ndcg_at_10",
              "bucket": "all", "per_seed": {"0": -0.1, "1": -0.5}, "per_seed_mark": {"0": None, "1": "loss"},
              "per_seed_mde": {"0": 0.2, "1": 0.3}, "mde": 0.3, "mean": -0.3, "sd": 0.28, "within_noise": True,
              "reading": "within training noise"}
    (tmp_path / "matched.json").write_text(_json.dumps(matched))
    other = dict(spread, task="u", per_seed_mark={"0": "loss", "1": None}, within_noise=False,
                 reading="beyond the seed spread; not significant in every seed")
    (tmp_path / "comparison.json").write_text(_json.dumps({"seed_spread": [spread, other]}))
    text = extrapolation.render()
    assert "| `512` | t | `ndcg_at_10` | 0.300 (0.200–0.400) | 0.600 (0.500–0.700) |" in text   # cls, mean (min–max)
    assert "-0.100 · -0.500▼" in text and "| 0.300 | within training noise | - |" in text
    assert "| training | 4 | 6.0 min | 90 s |" in text and "**8.0 min**" in text
    assert "2 tasks; 1 within training noise; 0 beyond it and significant in every seed (0 ▲, 0 ▼); 1 beyond" in text
    assert "The longer training was not run" in text
    longer = tmp_path / "steps-900"
    longer.mkdir()
    (longer / "matched.json").write_text(_json.dumps({"arms": [
        {"pooling": "mean", "evaluations": {"512": {"t": 0.61}}}]}))
    (longer / "comparison.json").write_text(_json.dumps({"rows": [
        {"model": "m-matched~512", "task": "t", "pooling": "cls", "bucket": "all", "mean_diff": 0.05,
         "mark": "win", "ci_low": 0.01, "ci_high": 0.09}]}))
    assert "| `512` | t | `ndcg_at_10` | -0.300 ± 0.280 | +0.050▲ [+0.010, +0.090] | 0.610 |" in extrapolation.render()


def test_the_extrapolation_block_names_one_metric_per_number(tmp_path, monkeypatch):
    """Issue 30 item 3: where the whole-set main metric and the tested score differ (clustering), every table says
    which one its numbers are; "no difference" only from the equivalence test, beside the tilt of the Δs."""
    import json as _json

    from docs.gen import extrapolation

    monkeypatch.setattr(extrapolation, "FOLDER", tmp_path)
    arms = [{"name": f"m-{p}-s{s}", "pooling": p, "train_pooling": p, "seed": s, "train_wall_s": 60.0,
             "eval_wall_s": {"512": 30.0}, "evaluations": {"512": {"clu": v, "t": v}}}
            for p, s, v in [("mean", 0, 0.5), ("cls", 0, 0.4), ("mean", 1, 0.7), ("cls", 1, 0.7)]]
    matched = {"base": "minilm", "data": "crop:x", "seeds": [0, 1], "arms": arms, "overlap": None, "settings": {},
               "summary": [{"task": "clu", "metric": "v_measure"}, {"task": "t", "metric": "ndcg_at_10"}]}
    base = {"model": "m-matched~512", "pooling": "cls", "baseline": "mean", "bucket": "all",
            "per_seed_mark": {"0": None, "1": None}, "per_seed_mde": {"0": 0.2, "1": 0.3}, "mde": 0.3, "sd": 0.07,
            "within_noise": True, "reading": "within training noise"}
    clu = dict(base, task="clu", metric="correct_rate", main_metric="v_measure", per_seed={"0": -0.1, "1": 0.0},
               mean=-0.05, n_le_0=2, n_ge_0=1, per_seed_equivalent={"0": False, "1": True}, n_equivalent=1,
               equivalent_every_seed=False)
    t = dict(base, task="t", metric="ndcg_at_10", main_metric="ndcg_at_10", per_seed={"0": -0.01, "1": 0.0},
             mean=-0.005, n_le_0=2, n_ge_0=1, per_seed_equivalent={"0": True, "1": True}, n_equivalent=2,
             equivalent_every_seed=True)
    (tmp_path / "matched.json").write_text(_json.dumps(matched))
    (tmp_path / "comparison.json").write_text(_json.dumps({
        "settings": {"equivalence_margin": 0.05}, "seed_spread": [clu, t],
        "groups": [{"task": "clu", "metric": "correct_rate"}, {"task": "t", "metric": "ndcg_at_10"}]}))
    text = extrapolation.render()
    assert "| `512` | clu | `v_measure` (whole set; not tested: its Δs are in `correct_rate`) |" in text
    assert "| `512` | t | `ndcg_at_10` | 0.550" in text
    assert "| clu | `correct_rate` (per item; not the whole-set `v_measure`) |" in text
    assert "-0.100 · +0.000≈" in text and "| 2 / 1 |" in text
    assert "| within training noise | equivalent in 1 of 2 seeds |" in text
    assert "| within training noise | equivalent in every seed |" in text
    assert "Tilt: 4 of 4 per-seed Δs ≤ 0, 2 ≥ 0. No difference (equivalent in every seed, ±0.05): 1 of 2 tasks (t)." in text


# -- the manual renders: no Sphinx role as text, nothing fetched from another site --------------------------------

from docs import check_site  # noqa: E402
from docs.gen.md import ANY_ROLE, plain_roles  # noqa: E402

FENCED = re.compile(r"^```.*?^```", re.S | re.M)


def test_plain_roles_shows_code_in_markdown_and_in_html():
    assert plain_roles("the :class:`~lmkbench.stats.compare.\n    Comparison` of") == "the `Comparison` of"
    assert plain_roles(":mod:`lmkbench.evaluate` and :py:meth:`a.B.c`") == "`lmkbench.evaluate` and `a.B.c`"
    assert plain_roles("(:class:<code>~a.b.C</code>)") == "(<code>C</code>)"
    assert plain_roles("a literal `:class:` stays") == "a literal `:class:` stays"


def test_no_page_shows_a_sphinx_role():
    """The generated blocks carry the docstrings' roles (poolings, results, scale, comparison pages did)."""
    for path in sorted(MANUAL.rglob("*.md")):
        name = str(path.relative_to(MANUAL))
        text = FENCED.sub("", page(name))
        assert not ANY_ROLE.search(text), (name, text[ANY_ROLE.search(text).start():][:80])


def test_the_api_page_docstrings_lose_their_roles():
    """mkdocstrings renders the API page's docstrings as written; the hook (on_page_content) turns each role in
    that HTML into code. Every role those docstrings use must be one it knows."""
    import importlib
    import inspect

    def docs_of(obj, depth=0):
        yield inspect.getdoc(obj) or ""
        if depth < 2 and (inspect.ismodule(obj) or inspect.isclass(obj)):
            for name, member in vars(obj).items():
                if not name.startswith("_") and (inspect.isfunction(member) or inspect.isclass(member)
                                                 or isinstance(member, (property, classmethod, staticmethod))):
                    yield from docs_of(getattr(member, "__func__", member), depth + 1)

    targets = re.findall(r"^::: ([\w.]+)", (MANUAL / "api.md").read_text(), re.M)
    seen = 0
    for target in targets:
        module, _, attr = target.rpartition(".")
        try:
            obj = importlib.import_module(target)
        except ImportError:
            obj = getattr(importlib.import_module(module), attr)
        for doc in docs_of(obj):
            seen += len(ANY_ROLE.findall(doc))
            html = re.sub(r"`([^`]*)`", r"<code>\1</code>", doc)          # what Markdown makes of code spans
            assert not ANY_ROLE.search(plain_roles(html)), (target, doc[:200])
    assert seen, "the API docstrings use no role: this test checks nothing"


def test_check_site_finds_roles_and_fetches(tmp_path):
    (tmp_path / "ok.html").write_text('<p><code>C</code> <a href="https://arxiv.org/abs/1">paper</a></p>'
                                      '<pre><code>:class:`kept in a code block`</code></pre>')
    assert check_site.problems(tmp_path) == []
    (tmp_path / "bad.html").write_text('<link rel="stylesheet" href="https://fonts.googleapis.com/css?x">'
                                       '<p>the :class:<code>~a.B</code> of</p>')
    (tmp_path / "bad.css").write_text('@font-face { src: url("https://fonts.gstatic.com/x.woff2") }')
    found = check_site.problems(tmp_path)
    assert len(found) == 3 and all(f.startswith(("bad.html", "bad.css")) for f in found), found


def test_the_theme_fetches_no_font():
    theme = yaml.safe_load((REPO / "mkdocs.yml").read_text().split("\nhooks:", 1)[0].split("\ntheme:", 1)[1]
                           .join(["theme:", ""]))["theme"]
    assert theme["font"] is False


def test_the_readme_gives_the_demo_duration_make_demo_prints():
    minutes = re.search(r"^DEMO_MINUTES = (\d+)$", (REPO / "Makefile").read_text(), re.M)[1]
    readme = README.read_text()
    assert f"before it starts: about {minutes} minutes" in readme
    assert "LMKBENCH_CACHE" in readme
