"""Provenance of committed results (issue 30): a dirty tree is recorded with a digest of its diff, publishing
refuses a dirty tree and results that record one. Every test works in its own temporary git repository (or
hand-made result files), never on the state of the checkout the tests run from."""
from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from _result_files import result_record
from lmkbench.cli import main
from lmkbench.provenance import checkout, commit_of, is_dirty, recorded_commits, require_clean, state_of
from lmkbench.errors import LmkbenchError
from lmkbench.results import ResultRecord, write_result

DIGEST = re.compile(r"^[0-9a-f]{40}\+dirty\.[0-9a-f]{12}$")


def _git(repo, *args) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.org",
                           "-c", "commit.gpgsign=false", *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git repository with lmkbench/a.py, tasks/t.yaml and README.md committed; no user or system config."""
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    root = tmp_path / "repo"
    (root / "lmkbench").mkdir(parents=True)
    (root / "tasks").mkdir()
    (root / "lmkbench" / "a.py").write_text("x = 1\n")
    (root / "tasks" / "t.yaml").write_text("name: t\n")
    (root / "README.md").write_text("readme\n")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "first")
    return root


def _run(*argv, capsys):
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_the_digest_changes_with_the_diff_and_is_stable_otherwise(repo, monkeypatch):
    sha = _git(repo, "rev-parse", "HEAD").strip()
    assert checkout(repo) == repo.resolve() and commit_of(repo) == sha
    assert state_of(repo) == {"git_commit": sha}
    code = repo / "lmkbench" / "a.py"
    code.write_text("x = 2\n")
    first = commit_of(repo)
    assert DIGEST.match(first) and first.startswith(sha) and is_dirty(first)
    assert commit_of(repo) == first
    assert state_of(repo)["git_dirty"] == ["lmkbench/a.py"]
    os.utime(code, (1, 1))                                   # touched, same content: same digest
    assert commit_of(repo) == first
    _git(repo, "add", "lmkbench/a.py")                       # staged or not: the diff against HEAD is the same
    assert commit_of(repo) == first
    monkeypatch.setenv("GIT_CONFIG_COUNT", "2")              # a user's diff settings do not change it
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "diff.noprefix")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "true")
    monkeypatch.setenv("GIT_CONFIG_KEY_1", "diff.context")
    monkeypatch.setenv("GIT_CONFIG_VALUE_1", "7")
    assert commit_of(repo) == first
    code.write_text("x = 3\n")
    second = commit_of(repo)
    assert DIGEST.match(second) and second != first
    code.write_text("x = 2\n")
    assert commit_of(repo) == first
    (repo / "README.md").write_text("other\n")
    assert commit_of(repo) not in (first, second) and state_of(repo)["git_dirty"] == ["README.md", "lmkbench/a.py"]
    _git(repo, "checkout", "-q", "HEAD", "--", ".")
    assert commit_of(repo) == sha


def test_an_untracked_file_leaves_the_tree_clean(repo):
    (repo / "lmkbench" / "new.py").write_text("y = 1\n")
    assert not is_dirty(commit_of(repo))
    assert require_clean(repo)["git_commit"] == _git(repo, "rev-parse", "HEAD").strip()


def test_require_clean_refuses_a_dirty_tree_with_exit_2_and_one_line_naming_the_path(repo, capsys):
    (repo / "tasks" / "t.yaml").write_text("name: changed\n")
    rc, out, err = _run("provenance", "--require-clean", "--repo", str(repo), capsys=capsys)
    assert rc == 2 and out == ""
    assert len(err.splitlines()) == 1 and "tasks/t.yaml" in err and "--allow-dirty" in err
    with pytest.raises(LmkbenchError, match="tasks/t.yaml"):
        require_clean(repo)


def test_require_clean_looks_at_the_code_only(repo, capsys):
    (repo / "README.md").write_text("edited\n")
    rc, out, _ = _run("provenance", "--require-clean", "--repo", str(repo), capsys=capsys)
    assert rc == 0 and "README.md" in out      # reported and recorded in the commit's digest, not refused
    assert DIGEST.match(out.split()[1])


def test_require_clean_refuses_a_folder_that_is_not_a_checkout(tmp_path, capsys):
    rc, _, err = _run("provenance", "--require-clean", "--repo", str(tmp_path), capsys=capsys)
    assert rc == 2 and len(err.splitlines()) == 1 and "not the top of a git checkout" in err
    assert checkout(tmp_path) is None


def test_allow_dirty_passes_and_records_the_digest(repo, tmp_path, capsys):
    (repo / "lmkbench" / "a.py").write_text("x = 2\n")
    record = tmp_path / "provenance.json"
    rc, out, err = _run("provenance", "--require-clean", "--allow-dirty", "--repo", str(repo), "--record",
                        str(record), capsys=capsys)
    assert rc == 0 and err == ""
    commit = commit_of(repo)
    assert DIGEST.match(commit) and f"tree: {commit}  dirty: lmkbench/a.py" in out
    data = json.loads(record.read_text())
    assert data["schema"] == "lmkbench.provenance/1" and data["allow_dirty"] is True
    assert data["tree"] == {"git_commit": commit, "git_dirty": ["lmkbench/a.py"]} and data["results"] == []


def _results(folder, commits: dict[str, str | None]):
    """One hand-made result per pooling, each recording the given commit (None: no commit recorded)."""
    for pooling, commit in commits.items():
        rec = result_record(pooling, [0.1, 0.5, 0.9])
        if commit is not None:
            rec["meta"]["git_commit"] = commit
        write_result(folder, rec)
    return folder


CLEAN_A, CLEAN_B = "a" * 40, "b" * 40


def test_the_publish_check_refuses_results_that_record_a_dirty_tree(repo, tmp_path, capsys):
    res = _results(tmp_path / "res", {"cls": CLEAN_A, "mean": CLEAN_A, "lmk": f"{CLEAN_B}+dirty",
                                      "max": f"{CLEAN_B}+dirty.0123456789ab"})
    rc, out, err = _run("provenance", "--require-clean", "--repo", str(repo), str(res), capsys=capsys)
    assert rc == 2 and len(err.splitlines()) == 1 and "2 of 4 results record a dirty tree" in err
    lines = out.splitlines()
    assert "record 3 commit(s)" in lines[1]
    assert re.match(rf"\s+2  {CLEAN_A}  clean  \(m\)$", lines[2])
    assert any(re.match(rf"\s+1  {CLEAN_B}\+dirty  dirty, diff not recorded", x) for x in lines)
    assert any(re.match(rf"\s+1  {CLEAN_B}\+dirty\.0123456789ab  dirty, diff digest 0123456789ab", x) for x in lines)
    rc, out, _ = _run("provenance", "--repo", str(repo), "--allow-dirty", str(res), capsys=capsys)
    assert rc == 0 and "record 3 commit(s)" in out


def test_an_old_plain_dirty_record_still_reads(tmp_path):
    path = next(iter(_results(tmp_path / "res", {"cls": f"{CLEAN_A}+dirty"}).rglob("*.json")))
    rec = ResultRecord.read(path)
    assert rec.meta.git_commit == f"{CLEAN_A}+dirty" and is_dirty(rec.meta.git_commit)
    assert [g.commit for g in recorded_commits([tmp_path / "res"])] == [f"{CLEAN_A}+dirty"]


def test_the_publish_check_refuses_results_without_a_commit_and_a_mix_where_one_is_wanted(repo, tmp_path,
                                                                                            capsys):
    none = _results(tmp_path / "none", {"cls": CLEAN_A, "mean": None})
    rc, out, err = _run("provenance", "--repo", str(repo), str(none), capsys=capsys)
    assert rc == 2 and "no commit recorded" in out and "1 of 2 results record a dirty tree or no commit" in err
    mixed = _results(tmp_path / "mixed", {"cls": CLEAN_A, "mean": CLEAN_B})
    rc, out, _ = _run("provenance", "--repo", str(repo), str(mixed), capsys=capsys)
    assert rc == 0 and CLEAN_A in out and CLEAN_B in out
    rc, _, err = _run("provenance", "--repo", str(repo), "--single-commit", str(mixed), capsys=capsys)
    assert rc == 2 and "record 2 commits" in err and len(err.splitlines()) == 1


def test_the_publish_check_refuses_an_empty_folder_and_writes_no_record_when_it_refuses(repo, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    rc, _, err = _run("provenance", "--repo", str(repo), str(tmp_path / "empty"), capsys=capsys)
    assert rc == 2 and "no lmkbench result files" in err
    res = _results(tmp_path / "res", {"cls": f"{CLEAN_A}+dirty"})
    record = tmp_path / "provenance.json"
    rc, _, _ = _run("provenance", "--repo", str(repo), str(res), "--record", str(record), capsys=capsys)
    assert rc == 2 and not record.exists()
    rc, _, _ = _run("provenance", "--repo", str(repo), str(res), "--allow-dirty", "--record", str(record),
                    capsys=capsys)
    data = json.loads(record.read_text())
    assert rc == 0 and data["results"] == [{"git_commit": f"{CLEAN_A}+dirty", "count": 1, "labels": ["m"]}]
    assert data["tree"]["git_commit"] == _git(repo, "rev-parse", "HEAD").strip()
