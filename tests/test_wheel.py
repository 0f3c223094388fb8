"""The wheel carries its catalogue and templates and declares every third-party module lmkbench imports.

(ci/wheel_check.sh installs the wheel into a fresh venv and runs it away from the repository.)"""
from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from _support import REPO

PKG = REPO / "lmkbench"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                           "-w", str(out), str(REPO)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (path,) = out.glob("lmkbench-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_ships_catalogue_and_templates(wheel):
    names = set(wheel.namelist())
    data = [p.relative_to(REPO).as_posix() for p in PKG.rglob("*") if p.is_file()
            and p.suffix in (".yaml", ".yml", ".j2", ".css", ".html") and "__pycache__" not in p.parts]
    # the top-level tasks/ ships as lmkbench/catalogue/ (setup.py), every file of it
    data += ["lmkbench/catalogue/" + p.relative_to(REPO / "tasks").as_posix()
             for p in (REPO / "tasks").rglob("*") if p.suffix in (".yaml", ".yml")]
    assert any(n.startswith("lmkbench/catalogue/suites/") for n in data)
    assert sorted(set(data) - names) == []
    assert not any(n.startswith(("tasks/", "tests/", "examples/")) for n in names)


def _third_party_imports() -> dict[str, str]:
    """Top-level module → first file importing it, for every module lmkbench imports (lazy imports included)."""
    stdlib = set(sys.stdlib_module_names)
    found: dict[str, str] = {}
    for path in sorted(PKG.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mods = [node.module]
            else:
                continue
            for m in mods:
                top = m.split(".")[0]
                if top not in stdlib and top != "lmkbench":
                    found.setdefault(top, str(path.relative_to(REPO)))
    return found


def test_every_import_is_declared_and_every_declaration_exists(wheel):
    meta = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    reqs = [Requirement(line.split(":", 1)[1].strip()) for line in wheel.read(meta).decode().splitlines()
            if line.startswith("Requires-Dist:")]
    norm = lambda s: s.lower().replace("_", "-").replace(".", "-")  # noqa: E731
    declared = {norm(r.name) for r in reqs}
    for r in reqs:          # every declared distribution is a real, installable one (installed by `make setup`)
        if r.marker is not None and r.marker.evaluate({"extra": "docs"}) and not r.marker.evaluate({"extra": "dev"}):
            continue        # the docs extra is installed by `make docs`, not by `make setup`
        try:
            distribution(r.name)
        except PackageNotFoundError:
            pytest.fail(f"pyproject declares {r.name!r}, which is not an installed distribution")
    owners = packages_distributions()
    missing = {}
    for mod, where in _third_party_imports().items():
        dists = {norm(d) for d in owners.get(mod, [])}
        if not dists & declared:
            missing[mod] = where
    assert missing == {}, f"imported but not declared in pyproject.toml: {missing}"
