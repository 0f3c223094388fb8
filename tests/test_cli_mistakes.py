"""Issue 28 (the CLI's own mistakes) and issue 29 item 9: did-you-mean for mistyped flags and commands, and a
``--help`` that builds every subcommand's parser without importing the heavy libraries."""
from __future__ import annotations

import subprocess
import sys

import pytest

from lmkbench.cli import main


@pytest.mark.parametrize("argv,hint", [
    (["rnu"], "did you mean 'run'?"),
    (["run", "--modle", "m", "--task", "t"], "did you mean --model for --modle?"),
    (["compare", "results", "--basline", "mean"], "did you mean --baseline for --basline?"),
    (["export", "results", "--format", "rnax", "-o", "x"], "did you mean 'ranx'?"),
], ids=["command", "required-flag", "unknown-flag", "choice"])
def test_a_mistyped_name_gets_the_nearest_one(argv, hint, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.rstrip().endswith(hint), err


def test_no_hint_where_nothing_is_near(capsys):
    assert main(["compare", "results", "--zzzzzz"]) == 2
    assert "did you mean" not in capsys.readouterr().err


def test_help_imports_no_heavy_library():
    """Every subcommand's parser is built for ``--help``; none may pull in torch, transformers, mteb, pandas or
    matplotlib (each is imported where a command runs)."""
    heavy = ("torch", "transformers", "mteb", "pandas", "matplotlib", "sklearn", "scipy")
    code = ("import sys; from lmkbench.cli import build_parser; p = build_parser(); p.format_help(); "
            "[a for a in p._actions if hasattr(a, 'choices') and isinstance(a.choices, dict) "
            " and [c.format_help() for c in a.choices.values()]]; "
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"--help imported {out}"


def test_embed_says_a_long_text_was_split_into_windows(tiny_bert, tmp_path, capsys):
    src = tmp_path / "t.txt"
    src.write_text("short\n" + "word " * 2000 + "\n")
    assert main(["embed", "--model", tiny_bert, "--pooling", "mean", "--long", "windows", "--input", str(src),
                 "--output", str(tmp_path / "e.npy"), "--no-cache", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "1 text(s) longer than 128 tokens split into windows" in out, out


def test_embed_bm25_says_it_has_no_vectors(tmp_path, capsys):
    src = tmp_path / "t.txt"
    src.write_text("a text\n")
    assert main(["embed", "--model", "bm25", "--input", str(src), "--output", str(tmp_path / "e.npy")]) == 2
    err = capsys.readouterr().err
    assert "BM25 is a lexical index and has no vectors" in err and "Traceback" not in err
