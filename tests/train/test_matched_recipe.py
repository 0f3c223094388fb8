"""Issue 27 (one item): a train-matched rerun into the same folder never reports an old arm as the new one. An arm
whose recipe changed (settings, the data's content, the base model's content) is refused before any training,
naming what differs, or trained again with --retrain; an unchanged arm is still reused."""
from __future__ import annotations

import json
import shutil

import pytest

from lmkbench.cli import main

FAST = ["--poolings", "cls,mean", "--batch-size", "2", "--query-max-length", "16", "--doc-max-length", "32",
        "--lr", "1e-3", "--quiet"]


@pytest.fixture()
def experiment(tiny_bert, toy_pairs, tmp_path):
    base = tmp_path / "base"
    shutil.copytree(tiny_bert, base)          # a copy: one test changes the base's weights
    out = tmp_path / "exp"
    args = ["train-matched", "--model", str(base), "--data", str(toy_pairs), "--out", str(out), *FAST]
    assert main([*args, "--steps", "1"]) == 0
    return args, out, base, toy_pairs


def _metas(out):
    return {p.parent.name: p.read_bytes() for p in sorted((out / "models").glob("*/lmkbench.json"))}


def _refused(capsys, says):
    err = capsys.readouterr().err
    assert "trained with another recipe" in err and says in err and "Traceback" not in err, err
    return err


def test_other_settings_are_refused_naming_them(experiment, capsys):
    args, out, _, _ = experiment
    before = _metas(out)
    assert main([*args, "--steps", "2"]) == 2
    _refused(capsys, "steps 1 -> 2")
    assert main([*args, "--steps", "1", "--lr", "2e-3"]) == 2
    _refused(capsys, "lr 0.001 -> 0.002")
    assert _metas(out) == before


def test_other_data_under_the_same_name_is_refused(experiment, capsys):
    args, out, _, data = experiment
    before = _metas(out)
    data.write_text(data.read_text().replace("tell me about", "what is"))
    assert main([*args, "--steps", "1"]) == 2
    _refused(capsys, "the training data's content")
    assert _metas(out) == before


def test_another_base_under_the_same_folder_is_refused(experiment, capsys):
    import torch
    from transformers import BertModel

    args, out, base, _ = experiment
    model = BertModel.from_pretrained(base)
    with torch.no_grad():
        model.embeddings.word_embeddings.weight.mul_(2)
    model.save_pretrained(base)
    assert main([*args, "--steps", "1"]) == 2
    _refused(capsys, "the base model's content")


def test_retrain_trains_the_changed_arms_and_an_unchanged_rerun_reuses(experiment, capsys):
    args, out, _, _ = experiment
    assert main([*args, "--steps", "2", "--retrain"]) == 0
    rec = json.loads((out / "matched.json").read_text())
    assert all(not a["reused"] and a["steps"] == 2 for a in rec["arms"])
    assert all(json.loads(m)["steps"] == 2 for m in _metas(out).values())
    assert main([*args, "--steps", "2"]) == 0
    assert all(a["reused"] for a in json.loads((out / "matched.json").read_text())["arms"])
