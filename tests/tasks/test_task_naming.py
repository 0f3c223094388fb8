"""A task's name identifies its data: ad-hoc specs that differ from a catalogue task get their own name."""
from __future__ import annotations

import textwrap

from lmkbench.tasks import data_identity, load_catalogue, resolve_tasks


def test_adhoc_bbc_differs_from_the_catalogue_subset():
    (adhoc,) = resolve_tasks("bbc:retrieval")            # the full 2,096-query set, no subset
    (cat,) = resolve_tasks("bbc_retrieval")              # the catalogue's 150 × 300 subset
    assert cat.name == "bbc_retrieval" and cat.subset
    assert adhoc.name.startswith("bbc_retrieval-adhoc-") and adhoc.name != cat.name
    assert adhoc.name == f"bbc_retrieval-adhoc-{data_identity(adhoc)[:8]}"
    assert resolve_tasks("bbc:retrieval")[0].name == adhoc.name            # stable: a rerun resumes
    other = resolve_tasks("bbc:retrieval?seed=1")[0]                        # not a catalogue name: untouched
    assert other.name == "bbc_retrieval:seed=1"


def test_adhoc_spec_reading_the_catalogue_data_keeps_the_name(tmp_path, tiny_beir, monkeypatch):
    (tmp_path / "t.yaml").write_text(textwrap.dedent(f"""
        tasks:
          - {{name: tinybeir, loader: beir, kind: retrieval, group: short-retrieval,
              params: {{path: "{tiny_beir}"}}, source: tiny, license: none}}
          - {{name: tinybeir_small, loader: beir, kind: retrieval, group: short-retrieval,
              params: {{path: "{tiny_beir}"}}, subset: {{queries: 3, seed: 0}}, source: tiny, license: none}}
    """))
    monkeypatch.setenv("LMKBENCH_TASKS", str(tmp_path))
    assert "tinybeir" in load_catalogue().tasks
    assert [t.name for t in resolve_tasks(f"beir:{tiny_beir}")] == ["tinybeir"]       # same folder, same split
    (dev,) = resolve_tasks(f"beir:{tiny_beir}#test?group=long-retrieval")
    assert dev.name == "tinybeir"                                                    # group is not data
    moved = tmp_path / "elsewhere" / "tinybeir"
    moved.parent.mkdir()
    moved.symlink_to(tiny_beir)
    assert resolve_tasks(f"beir:{moved}")[0].name == "tinybeir"                      # paths compared resolved
