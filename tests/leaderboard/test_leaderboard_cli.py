"""`lmkbench leaderboard` end to end on a tiny model: runs the grid, resumes, writes CSV/JSON/HTML."""
from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from lmkbench.cli import main
from lmkbench.results import iter_results


@pytest.fixture()
def config(tiny_bert, tiny_beir, tmp_path):
    second = tmp_path / "tinybeir_long"
    shutil.copytree(tiny_beir, second)
    path = tmp_path / "lb.yaml"
    path.write_text(f"""
title: tiny leaderboard
results: {tmp_path / 'cells'}
out: {tmp_path / 'board'}
models: [{tiny_bert}]
poolings: [cls, mean]
tasks:
  - "beir:{tiny_beir}?group=short-retrieval"
  - "beir:{second}?group=long-retrieval"
settings: {{max_length: 64, device: cpu, cache_dir: {tmp_path / 'cache'}}}
""")
    return path


def test_grid_runs_resumes_and_writes_outputs(config, tmp_path, capsys):
    assert main(["leaderboard", "--config", str(config), "--quiet"]) == 0
    out = capsys.readouterr().out
    cells = list(iter_results(tmp_path / "cells"))
    assert sorted((r.task, r.pooling) for r in cells) == [
        ("tinybeir", "cls"), ("tinybeir", "mean"), ("tinybeir_long", "cls"), ("tinybeir_long", "mean")]
    assert {r.task: r.task_group for r in cells} == {"tinybeir": "short-retrieval", "tinybeir_long": "long-retrieval"}
    board = tmp_path / "board"
    df = pd.read_csv(board / "leaderboard.csv")
    assert set(df.pooling) == {"cls", "mean"} and list(df["rank"]) == sorted(df["rank"])
    assert {"group:short-retrieval", "group:long-retrieval", "tinybeir", "tinybeir_long:rank"} <= set(df.columns)
    by_pool = {r.pooling: r for r in cells if r.task == "tinybeir"}
    for _, row in df.iterrows():
        assert row["tinybeir"] == pytest.approx(by_pool[row.pooling].metrics["ndcg_at_10"], abs=1e-6)
    page = (board / "leaderboard.html").read_text()
    assert "tiny leaderboard" in page and "Short retrieval" in page and "Long retrieval" in page
    assert json.loads((board / "leaderboard.json").read_text())["schema"] == "lmkbench.leaderboard/1"
    assert "wrote" in out

    # resume: nothing recomputed, result files untouched
    stamps = {r.path: r.path.stat().st_mtime_ns for r in cells}
    assert main(["leaderboard", "--config", str(config), "--quiet"]) == 0
    assert "all 4 cells done" in capsys.readouterr().out
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())


def test_cells_of_other_code_are_not_done(config, tmp_path, capsys, monkeypatch):
    """A finished cell stands without loading its model only when today's code and checkpoint produced it."""
    from lmkbench import system

    assert main(["leaderboard", "--config", str(config), "--quiet"]) == 0
    capsys.readouterr()
    monkeypatch.setattr(system, "_result_modules_digest", lambda: "edited")
    assert main(["leaderboard", "--config", str(config), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "all 4 cells done" not in out and out.count("recomputing") == 4, out


def test_no_run_ranks_what_exists_and_lists_missing(config, tmp_path, capsys):
    assert main(["leaderboard", "--config", str(config), "--no-run"]) == 2
    assert "no results for any cell" in capsys.readouterr().err
    text = config.read_text().replace("poolings: [cls, mean]", "poolings: [mean]")
    config.write_text(text)
    assert main(["leaderboard", "--config", str(config), "--quiet"]) == 0
    config.write_text(text.replace("poolings: [mean]", "poolings: [cls, mean]"))
    capsys.readouterr()
    assert main(["leaderboard", "--config", str(config), "--no-run", "--out", str(tmp_path / "b2")]) == 0
    out = capsys.readouterr().out
    assert "missing cells (2)" in out
    assert len(pd.read_csv(tmp_path / "b2" / "leaderboard.csv")) == 1


def test_failing_task_stops_or_is_skipped(config, tmp_path, capsys):
    text = config.read_text().replace("tasks:\n", f"tasks:\n  - \"beir:{tmp_path / 'nowhere'}\"\n")
    config.write_text(text)
    assert main(["leaderboard", "--config", str(config), "--quiet"]) == 2
    assert "nowhere" in capsys.readouterr().err
    config.write_text(text + "on_error: skip\n")
    assert main(["leaderboard", "--config", str(config), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "failed: " in out and "nowhere" in out


def test_shards_split_the_grid_and_merge(config, tmp_path, capsys):
    assert main(["leaderboard", "--config", str(config), "--quiet", "--shard", "1/2"]) == 0
    assert "shard 1/2: 2 cell(s) computed" in capsys.readouterr().out
    assert sorted(r.task for r in iter_results(tmp_path / "cells")) == ["tinybeir_long", "tinybeir_long"]
    assert not (tmp_path / "board" / "leaderboard.csv").exists()   # a shard computes, it does not rank
    assert main(["leaderboard", "--config", str(config), "--quiet", "--shard", "0/2"]) == 0
    assert sorted(r.task for r in iter_results(tmp_path / "cells")) == ["tinybeir"] * 2 + ["tinybeir_long"] * 2
    assert main(["leaderboard", "--config", str(config), "--no-run"]) == 0
    assert "missing cells" not in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["2/2", "x/2", "1", "0/0"])
def test_bad_shard_is_a_one_line_error(config, bad, capsys):
    assert main(["leaderboard", "--config", str(config), "--shard", bad]) == 2
    assert "--shard" in capsys.readouterr().err


def test_bm25_sits_in_the_grid_as_its_own_system(tiny_bert, tiny_beir, tmp_path, capsys):
    path = tmp_path / "lb_bm25.yaml"
    path.write_text(f"""
results: {tmp_path / 'cells'}
out: {tmp_path / 'board'}
models: [{tiny_bert}, bm25]
poolings: [mean]
tasks: ["beir:{tiny_beir}"]
settings: {{max_length: 64, device: cpu, cache_dir: {tmp_path / 'cache'}}}
""")
    assert main(["leaderboard", "--config", str(path), "--quiet"]) == 0
    df = pd.read_csv(tmp_path / "board" / "leaderboard.csv")
    assert sorted(zip(df.model, df.pooling)) == sorted([("tiny_bert0~64", "mean"), ("bm25", "bm25")])
    assert "missing cells" not in capsys.readouterr().out
    assert main(["leaderboard", "--config", str(path), "--quiet"]) == 0   # resumes: bm25's cell is found as done
    assert "all 1 cells done" in capsys.readouterr().out


def test_bm25_with_poolings_is_a_config_error(tiny_beir, tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(f'models: [{{model: bm25, poolings: [mean]}}]\ntasks: ["beir:{tiny_beir}"]\n')
    assert main(["leaderboard", "--config", str(path)]) == 2
    assert "lexical system takes no poolings" in capsys.readouterr().err


def test_two_checkpoints_with_one_basename_get_their_own_rows(tiny_bert, tiny_beir, tmp_path, capsys):
    """Two models whose folders share a basename: the runner files the second under a tagged label, and the
    leaderboard reads each model's own cells (it read the first one's for both)."""
    import torch
    from transformers import BertModel

    a, b = tmp_path / "a" / "enc", tmp_path / "b" / "enc"
    shutil.copytree(tiny_bert, a)
    shutil.copytree(tiny_bert, b)
    m = BertModel.from_pretrained(b)
    torch.manual_seed(1)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p))
    m.save_pretrained(b)
    path = tmp_path / "lb.yaml"
    path.write_text(f"""
results: {tmp_path / 'cells'}
out: {tmp_path / 'board'}
models: [{a}, {b}]
poolings: [mean]
tasks: ["beir:{tiny_beir}"]
settings: {{max_length: 64, device: cpu, cache_dir: false}}
""")
    assert main(["leaderboard", "--config", str(path), "--quiet"]) == 0
    cells = {r.model: r for r in iter_results(tmp_path / "cells")}
    assert len(cells) == 2 and any("@" in label for label in cells)
    board = json.loads((tmp_path / "board" / "leaderboard.json").read_text())
    shown = {row["model"]: row["scores"]["tinybeir"] for row in board["rows"]}
    assert shown == pytest.approx({label: rec.value for label, rec in cells.items()})
    assert len(set(shown.values())) == 2 and not board["missing"]
