"""Hypothesis fuzz of gate baselines: any JSON shape in any place of a baseline file (or a cut-off file) makes
`lmkbench check` pass (0), fail (1) or refuse with one clear error (2), never raise a traceback; and it gives a
verdict (0 or 1) only on a baseline it could read whole and test (no unknown key, no NaN, per-item scores)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmkbench.cli import main
from lmkbench.results import write_result

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8)


def _record(pooling: str, scores) -> dict:
    per_query = {f"q{i}": {"ndcg_at_10": float(s), "length": 10 * i} for i, s in enumerate(scores)}
    return {"task": "t", "task_kind": "retrieval", "split": "test", "model": "m", "pooling": pooling,
            "main_metric": "ndcg_at_10", "metrics": {"ndcg_at_10": float(np.mean(scores))}, "per_query": per_query,
            "meta": {"dataset_checksums": {"corpus.jsonl": "a" * 64}, "model_identity": "id-1", "max_length": 64}}


@pytest.fixture(scope="module")
def gate_inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzzgate")
    rng = np.random.default_rng(0)
    for p in ("cls", "mean"):
        write_result(root / "results", _record(p, rng.uniform(0, 1, 6)))
    assert main(["baseline", str(root / "results"), "-o", str(root / "base.json")]) == 0
    return root / "results", json.loads((root / "base.json").read_text())


def _paths(node, prefix=()):
    """Every place in a JSON document: (path to the container, key) pairs, the root as ((), None)."""
    out = [(prefix, None)] if not prefix else []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        out.append((prefix, key))
        out.extend(_paths(value, prefix + (key,)))
    return out


def _at(doc, path):
    for key in path:
        doc = doc[key]
    return doc


#: the baseline format's keys (lmkbench/gate.py's docstring)
TOP_KEYS = {"schema", "created", "lmkbench_version", "git_commit", "source", "cells"}
CELL_KEYS = {"task", "model", "pooling", "task_kind", "split", "metric", "greater_is_better", "value", "item_metric",
             "items", "dataset_checksums", "model_identity", "settings"}


def _testable(doc) -> bool:
    """What a baseline must be for the gate to judge it (pass or fail): only known keys, finite values, and
    per-item scores with at least two numbers in every cell."""
    if not isinstance(doc, dict) or set(doc) - TOP_KEYS or not isinstance(doc.get("cells"), list):
        return False
    for cell in doc["cells"]:
        if not isinstance(cell, dict) or set(cell) - CELL_KEYS:
            return False
        value, items = cell.get("value"), cell.get("items")
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not np.isfinite(value):
            return False
        if not isinstance(items, dict):
            return False
        numbers = [v for v in items.values() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(numbers) < 2 or not np.all(np.isfinite(numbers)):
            return False
    return True


def _check(results, tmp_path, text: str, capsys) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    rc = main(["check", str(results), "--baseline", str(path), "--test", "ttest"])
    out, err = capsys.readouterr()
    assert rc in (0, 1, 2), (rc, err)
    if rc == 2:
        assert err.startswith("lmkbench check: error: ") and "Traceback" not in err
    else:   # a verdict only on a baseline the gate could read whole and test
        assert "gate: PASS" in out if rc == 0 else "gate: FAIL" in out
        assert _testable(json.loads(text)), out


@FUZZ
@given(data=st.data(), value=JSON, action=st.sampled_from(["replace", "delete", "add"]))
def test_any_json_anywhere_in_a_baseline(gate_inputs, tmp_path, capsys, data, value, action):
    results, base = gate_inputs
    doc = json.loads(json.dumps(base))
    container, key = data.draw(st.sampled_from(_paths(doc)))
    if key is None:
        doc = value                                     # the whole document
    else:
        parent = _at(doc, container)
        if action == "replace":
            parent[key] = value
        elif action == "delete":
            del parent[key]
        elif isinstance(parent, dict):
            parent[data.draw(st.text(max_size=12))] = value
        else:
            parent.append(value)
    _check(results, tmp_path, json.dumps(doc, allow_nan=True), capsys)


@FUZZ
@given(cut=st.floats(0, 1), junk=st.text(max_size=4))
def test_a_cut_off_baseline(gate_inputs, tmp_path, capsys, cut, junk):
    results, base = gate_inputs
    text = json.dumps(base, indent=1)
    _check(results, tmp_path, text[: int(cut * len(text))] + junk, capsys)
