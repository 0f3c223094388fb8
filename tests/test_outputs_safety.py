"""Issue 28, outputs that replace what is not theirs: every case failed on the code before its fix.

``io.atomic_write_bytes`` writes into a FIFO or character device instead of replacing the node, follows a
symbolic link to its target, and refuses a socket; an output path that is one of the command's own inputs, or a
result under the results folder it reads, is refused before any work (exit 2, the file untouched); ``train --out``
a folder of a user's files is refused without ``--overwrite``.
"""
from __future__ import annotations

import os
import socket
import stat
import threading

import pytest

from _result_files import write_two_results
from lmkbench import io as lio
from lmkbench.cli import main


@pytest.fixture()
def results(tmp_path):
    folder = tmp_path / "results"
    return folder, write_two_results(folder)


# -- the writer --------------------------------------------------------------------------------------------------
def test_a_fifo_is_written_into_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()), daemon=True)
    reader.start()
    lio.atomic_write_json(fifo, {"a": 1})
    reader.join(10)
    assert got == [b'{\n "a": 1\n}\n']
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_fifo_without_reader_is_one_error_not_a_hang(tmp_path, monkeypatch):
    monkeypatch.setattr(lio, "FIFO_WAIT_S", 0.2)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(lio.WriteError, match="no reader"):
        lio.atomic_write_text(fifo, "x")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def _char_device(path, minor):
    try:   # the kernel's /dev/null (1, 3) and /dev/full (1, 7), made in a temporary folder
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, minor))
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot make a device node here ({exc})")
    return path


def test_a_device_is_written_into_and_a_full_one_is_one_error(tmp_path):
    null = _char_device(tmp_path / "null", 3)
    lio.atomic_write_text(null, "into the void")
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    full = _char_device(tmp_path / "full", 7)
    with pytest.raises(lio.WriteError, match="No space left"):
        lio.atomic_write_json(full, {"a": 1})
    assert stat.S_ISCHR(os.lstat(full).st_mode) and sorted(os.listdir(tmp_path)) == ["full", "null"]


def test_check_json_onto_a_full_device_exits_2(tmp_path, results, capsys):
    folder, _ = results
    base = tmp_path / "baseline.json"
    assert main(["baseline", str(folder), "-o", str(base)]) == 0
    full = _char_device(tmp_path / "full", 7)
    assert main(["check", str(folder), "--baseline", str(base), "--json", str(full)]) == 2
    assert "No space left" in capsys.readouterr().err
    assert stat.S_ISCHR(os.lstat(full).st_mode)


def test_a_symlink_is_followed_and_stays_a_link(tmp_path):
    target = tmp_path / "real" / "out.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    lio.atomic_write_text(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new"
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "real" / "made.json")
    lio.atomic_write_text(dangling, "made")
    assert dangling.is_symlink() and (tmp_path / "real" / "made.json").read_text() == "made"


def test_a_socket_is_refused(tmp_path):
    path = tmp_path / "sock"
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(str(path))
        with pytest.raises(lio.WriteError, match="socket"):
            lio.atomic_write_text(path, "x")
        assert stat.S_ISSOCK(os.lstat(path).st_mode)
    finally:
        s.close()


def test_a_lone_surrogate_is_written_not_a_crash(tmp_path):
    lio.atomic_write_json(tmp_path / "s.json", {"q": "a\ud800b"})
    assert (tmp_path / "s.json").read_text(encoding="utf-8") == '{\n "q": "a\ufffdb"\n}\n'


# -- outputs that are the command's own inputs -----------------------------------------------------------------
@pytest.mark.parametrize("argv", [
    lambda folder, r: ["compare", str(folder), "--json", str(r)],
    lambda folder, r: ["compare", str(folder), "--out", str(r)],
    lambda folder, r: ["compare", str(folder), "--out", str(r.with_suffix(".trec"))],
    lambda folder, r: ["report", str(folder), "-o", str(r), "--no-task-data"],
    lambda folder, r: ["baseline", str(folder), "-o", str(r)],
], ids=["compare-json", "compare-out", "compare-out-trec", "report", "baseline"])
def test_an_output_onto_a_result_it_reads_is_refused(results, argv, capsys):
    folder, paths = results
    target = paths["mean"]
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert main(argv(folder, target)) == 2
    err = capsys.readouterr().err
    assert "would overwrite the result" in err and "Traceback" not in err
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def test_an_output_through_a_link_onto_a_result_is_refused(tmp_path, results, capsys):
    folder, paths = results
    link = tmp_path / "innocent.json"
    link.symlink_to(paths["cls"])
    assert main(["compare", str(folder), "--json", str(link)]) == 2
    assert "would overwrite the result" in capsys.readouterr().err


def test_check_json_onto_its_baseline_is_refused(tmp_path, results, capsys):
    folder, _ = results
    base = tmp_path / "baseline.json"
    assert main(["baseline", str(folder), "-o", str(base)]) == 0
    before = base.read_bytes()
    assert main(["check", str(folder), "--baseline", str(base), "--json", str(base)]) == 2
    assert "is one of this command's inputs" in capsys.readouterr().err
    assert base.read_bytes() == before


def test_compare_json_beside_the_results_is_still_allowed(results, capsys):
    folder, _ = results
    assert main(["compare", str(folder), "--json", str(folder / "comparison.json")]) == 0


def test_export_into_its_results_folder_is_refused(results, capsys):
    folder, _ = results
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert main(["export", str(folder), "--format", "ranx", "-o", str(folder)]) == 2
    assert "overlaps this command's input" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("output,extra", [("e.npy", []), ("e.npy", ["--pooling", "cls,mean"]),
                                          ("corpus.npy", [])], ids=["ids", "ids-several", "array"])
def test_embed_never_overwrites_its_input_with_a_derived_file(tmp_path, output, extra, capsys):
    src = tmp_path / ("e.ids.txt" if output == "e.npy" else "corpus.npy")
    src.write_text("one text\nanother\n")
    before = src.read_bytes()
    rc = main(["embed", "--model", "no-such-model-needed", "--input", str(src), "--output", str(tmp_path / output),
               "--no-cache", "--quiet", *extra])
    err = capsys.readouterr().err
    assert rc == 2 and "is one of this command's inputs" in err, err
    assert src.read_bytes() == before


def test_train_out_a_folder_of_user_files_is_refused(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    data = tmp_path / "pairs.jsonl"
    data.write_text('{"query": "q", "positive": "p"}\n' * 4)
    rc = main(["train", "--model", "no-such-base", "--pooling", "mean", "--data", str(data), "--out", str(out),
               "--steps", "1", "--batch-size", "2", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "not a training run's" in err and "thesis.tex" in err, err
    assert (out / "thesis.tex").read_text() == "years of work" and sorted(os.listdir(out)) == ["thesis.tex"]
