"""The task catalogue: the repository's task files, suites, and how task files are read and checked."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lmkbench.errors import InputError, LmkbenchError
from lmkbench.evaluate import evaluator_for
from lmkbench.tasks import GROUPS, KINDS, load_catalogue, resolve_tasks
from lmkbench.tasks.catalogue import builtin_tasks_dir, expand_path, read_task_file, shared_data_root

REPO = Path(__file__).resolve().parents[2]
DEFAULT = ["bbc_retrieval", "bbc_classification", "bbc_clustering",
           *[f"{k}_{n}" for k in ("passkey", "needle") for n in (256, 512, 1024, 2048, 4096)]]


def test_builtin_folder_is_the_packaged_catalogue():
    assert builtin_tasks_dir() == REPO / "tasks"
    assert not (REPO / "lmkbench" / "catalogue").exists(), "the catalogue lives in tasks/ (the wheel copies it)"
    assert shared_data_root().resolve() == (REPO / ".." / "shared" / "data").resolve()


def test_every_catalogue_task_is_complete():
    cat = load_catalogue()
    assert len(cat.tasks) >= 80
    for t in cat.tasks.values():
        assert t.kind in KINDS and t.group in GROUPS, t.name
        assert t.source and t.license, f"{t.name}: source and license are required for the catalogue"
        assert t.file and Path(t.file).is_relative_to(REPO / "tasks")
        evaluator_for(t.kind, **t.evaluator_options)          # evaluator options are valid
        if t.loader_name in ("beir", "labelled", "bbc") or (t.loader_name == "needle"):
            # every local source is pinned: a changed file cannot go unnoticed
            assert set(t.sha256) == set(t.source_loader.sources()), t.name
        if t.needs_tokenizer:
            assert t.group == "synthetic" and t.main_metric == "acc_at_1"


def test_suites():
    cat = load_catalogue()
    assert {"default", "long", "short", "paper"} <= set(cat.suites)
    assert [t.name for t in resolve_tasks("suite:default")] == DEFAULT
    for t in resolve_tasks("suite:default"):     # the offline bundle needs neither shared data nor a network
        assert t.availability() == ("yes", ""), t.name
        assert t.loader_name in ("bbc", "passkey", "needle")
    long = [t.name for t in resolve_tasks("suite:long")]
    for n in (256, 1024, 32768):
        assert {f"passkey_{n}", f"needle_{n}", f"needle_pg_{n}"} <= set(long)
    assert {"qmsum_longembed", "qmsum_testsplit", "squality_longdoc"} <= set(long)
    short = {t.name: t for t in resolve_tasks("suite:short")}
    assert "scifact" in short and all(t.group != "long-retrieval" for t in short.values())
    paper = {t.name: t for t in resolve_tasks("suite:paper")}
    assert "msmarco_dev" in paper and "mldr_en" in paper
    assert len([n for n in paper if n.startswith("beir_") and "cqadupstack" not in n]) == 13   # + msmarco + cqa = 15
    assert len([n for n in paper if n.startswith("beir_cqadupstack_")]) == 12
    assert {f"lemb_{x}" for x in ("narrativeqa", "qmsum", "summscreenfd", "wikimqa")} <= set(paper)
    assert len([n for n in paper if n.startswith(("lemb_passkey_", "lemb_needle_"))]) == 16
    assert all(t.availability()[0] == "network" for t in paper.values())


def test_paper_suite_names_real_mteb_tasks_splits_and_subsets():
    """mteb's task metadata is available offline: every mteb task, split and subset we name exists."""
    mteb = pytest.importorskip("mteb")
    for t in resolve_tasks("suite:paper"):
        if t.loader_name != "mteb":
            assert t.loader_name == "beir-download" and t.params["split"] == "dev"
            continue
        meta = mteb.get_task(t.params["task"]).metadata
        assert meta.type == "Retrieval", t.name
        assert t.params["split"] is None or t.params["split"] in meta.eval_splits, t.name
        if t.params["hf_subset"]:
            assert t.params["hf_subset"] in meta.hf_subsets, t.name


def test_resolve_names_globs_and_errors():
    assert [t.name for t in resolve_tasks("passkey_10*")] == ["passkey_1024"]
    assert resolve_tasks("scifact")[0].params["path"].endswith("scifact")
    with pytest.raises(LmkbenchError, match="did you mean 'scifact'"):
        resolve_tasks("scifakt")
    with pytest.raises(LmkbenchError, match="unknown suite 'nope'"):
        resolve_tasks("suite:nope")
    with pytest.raises(LmkbenchError, match="no catalogue task matches"):
        resolve_tasks("zzz_*")


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def test_for_each_defaults_and_paths(tmp_path, monkeypatch, tiny_beir):
    monkeypatch.setenv("MY_DATA", str(tiny_beir.parent))
    path = write(tmp_path / "t", "mine.yaml", """\
        defaults: {loader: beir, kind: retrieval, group: short-retrieval, license: x, source: y}
        tasks:
          - name: "tb_{split}"
            for_each: {split: [test]}
            params: {path: "${MY_DATA}/tinybeir", split: "{split}"}
          - name: rel
            params: {path: ../rel}
          - name: pk_{n}
            loader: passkey
            group: synthetic
            for_each: {n: [64, 128]}
            params: {length: "{n}", n_queries: 2, n_candidates: 3}
        """)
    tasks, suites = read_task_file(path)
    assert [t.name for t in tasks] == ["tb_test", "rel", "pk_64", "pk_128"] and suites == []
    assert tasks[0].params == {"path": str(tiny_beir), "split": "test"}
    assert tasks[1].params["path"] == str((tmp_path / "rel").resolve())        # relative to the task file
    assert tasks[3].params["length"] == 128 and isinstance(tasks[3].params["length"], int)
    assert tasks[2].needs_tokenizer and tasks[2].kind == "retrieval"


@pytest.mark.parametrize("text,needle", [
    ("tasks:\n  - {name: a, loader: beir, group: short-retrieval, params: {path: x}, colour: red}\n",
     ":2: field 'colour': unknown key"),
    ("tasks:\n  - {name: a, loader: nope, group: short-retrieval}\n", ":2: field 'loader': unknown loader 'nope'"),
    ("tasks:\n  - {name: a, loader: beir, group: medium, params: {path: x}}\n", "field 'group': group must be one of"),
    ("tasks:\n  - {name: a, loader: beir, group: clustering, kind: clustering, params: {path: x}}\n",
     "field 'kind': kind 'clustering' is not one the beir loader feeds"),
    ("tasks:\n  - {name: a, loader: beir, group: short-retrieval, params: {path: x, splitt: dev}}\n",
     "loader 'beir' has no parameter 'splitt'"),
    ("tasks:\n  - {name: a, loader: beir, group: short-retrieval}\n", "loader 'beir' needs parameter 'path'"),
    ("tasks:\n  - {name: a, loader: beir, group: short-retrieval, params: {path: x}, sha256: {a: 12}}\n",
     "field 'sha256': expected a mapping of source file"),
    ("tasks:\n  - {name: 'a b', loader: beir, group: short-retrieval, params: {path: x}}\n", "bad task name"),
    ("tasks:\n  - {name: a, loader: beir, group: short-retrieval, params: {path: '${NOT_SET_ANYWHERE}/x'}}\n",
     "environment variable ${NOT_SET_ANYWHERE} is not set"),
    ("tasks: [\n", "malformed YAML"),
    ("tasks:\n  - name: a\n    name: b\n", "duplicate key 'name'"),
    ("suite: {name: s, tasks: []}\n", "field 'tasks': expected a non-empty list"),
])
def test_bad_task_files_name_file_line_and_field(tmp_path, text, needle):
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(LmkbenchError) as info:
        read_task_file(path)
    assert str(path) in str(info.value) and needle in str(info.value)


def test_user_folder_overrides_and_duplicates(tmp_path, monkeypatch, tiny_beir):
    user = tmp_path / "user"
    write(user, "a.yaml", f"""\
        tasks:
          - {{name: scifact, loader: beir, group: short-retrieval, license: mine, source: mine, params: {{path: {tiny_beir}}}}}
        suite: {{name: mine, tasks: [scifact, "bbc_*"]}}
        """)
    monkeypatch.setenv("LMKBENCH_TASKS", str(user))
    cat = load_catalogue()
    assert cat.tasks["scifact"].license == "mine"                    # user folders come first
    assert [t.name for t in cat.suite_tasks("mine")] == ["scifact", "bbc_retrieval", "bbc_classification",
                                                        "bbc_clustering"]
    write(user, "b.yaml", f"""\
        tasks:
          - {{name: scifact, loader: beir, group: short-retrieval, params: {{path: {tiny_beir}}}}}
        """)
    with pytest.raises(InputError, match="task 'scifact' is also defined in"):
        load_catalogue()
    monkeypatch.setenv("LMKBENCH_TASKS", str(tmp_path / "missing"))
    with pytest.raises(LmkbenchError, match="tasks folder .*missing not found"):
        load_catalogue()


def test_suite_naming_an_unknown_task_is_an_error(tmp_path):
    write(tmp_path, "s.yaml", "suite: {name: broken, tasks: [bbc_retrieval, no_such_task]}\n")
    cat = load_catalogue([tmp_path])
    with pytest.raises(InputError, match="suite 'broken': 'no_such_task' names no task"):
        cat.suite_tasks("broken")


def test_a_task_file_path_is_a_spec(tmp_path, tiny_beir):
    path = write(tmp_path, "one.yaml", f"""\
        tasks:
          - {{name: tiny, loader: beir, group: short-retrieval, params: {{path: {tiny_beir}}}}}
        """)
    (task,) = resolve_tasks(str(path))
    assert task.name == "tiny" and task.file == str(path.resolve())
    assert task.load().name == "tiny"


def test_expand_path_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv("LMKBENCH_SHARED_DATA", raising=False)
    got = expand_path("${LMKBENCH_SHARED_DATA}/scifact", tmp_path / "x.yaml")
    assert Path(got) == (REPO.parent / "shared" / "data" / "scifact")
    monkeypatch.setenv("LMKBENCH_SHARED_DATA", str(tmp_path))
    assert expand_path("${LMKBENCH_SHARED_DATA}/s", tmp_path / "x.yaml") == str(tmp_path / "s")
