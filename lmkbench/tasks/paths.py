"""Where lmkbench finds things: the package, the clone holding it, the built-in catalogue and the shared data.

Its own module so that loaders and the catalogue both read it without importing each other.
"""
from __future__ import annotations

import os
from pathlib import Path

ENV_SHARED = "LMKBENCH_SHARED_DATA"


def package_dir() -> Path:
    return Path(__file__).resolve().parents[1]


def repo_root() -> Path | None:
    """The clone holding the package (``None`` for an installed wheel)."""
    root = package_dir().parent
    return root if (root / "pyproject.toml").is_file() else None


def builtin_tasks_dir() -> Path:
    """The built-in catalogue: ``tasks/`` in a clone (editable installs included), else the copy the wheel ships
    inside the package, ``lmkbench/catalogue`` (setup.py copies ``tasks/`` there when it builds the wheel)."""
    root = repo_root()
    return root / "tasks" if root is not None else package_dir() / "catalogue"


def shared_data_root() -> Path:
    """``$LMKBENCH_SHARED_DATA``, else ``<clone>/../shared/data``, else ``$LMKBENCH_DATA/shared`` (a wheel)."""
    env = os.environ.get(ENV_SHARED)
    if env:
        return Path(env).expanduser()
    root = repo_root()
    if root is not None:
        return root.parent / "shared" / "data"
    from ..data.beir_download import default_data_dir

    return Path(default_data_dir()) / "shared"
