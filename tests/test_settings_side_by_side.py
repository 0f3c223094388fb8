"""Settings side by side: one results folder holds a model under several encoder settings without collisions,
``compare_settings`` pairs them query by query, and a finished cell is reused only when what produced it
(model content, settings, data, evaluator) is unchanged."""
from __future__ import annotations

import json
import shutil

import pytest
import torch

P = 32


@pytest.fixture(scope="module")
def bert_p32(tmp_path_factory, minilm_tokenizer) -> str:
    from _support import one_layer_bert

    return str(one_layer_bert(tmp_path_factory.mktemp("m") / "bert", minilm_tokenizer, P, seed=3))


def _run(model, task, out, log=None, **settings):
    from lmkbench.runner import Runner, RunSettings

    lines = []
    Runner(RunSettings(model, ["mean", "lmk"], out, progress=False, cache_dir=False, device="cpu", **settings),
           log=lines.append).run([f"beir:{task}"])
    return lines


def test_settings_do_not_collide_and_pair(bert_p32, tiny_beir, tmp_path):
    from lmkbench.results import iter_results
    from lmkbench.variants import compare_settings, format_settings_table

    out = tmp_path / "res"
    _run(bert_p32, tiny_beir, out)
    _run(bert_p32, tiny_beir, out, positions="gp", max_length=96)
    _run(bert_p32, tiny_beir, out, long_policy="windows")
    records = list(iter_results(out))
    labels = sorted({r.model for r in records})
    assert labels == ["bert", "bert~gp-96", "bert~windows"]
    assert len(records) == 6
    by = {(r.model, r.pooling): r for r in records}
    assert by[("bert~gp-96", "mean")].meta.get("positions") == "gp"
    assert by[("bert~gp-96", "mean")].meta.max_length == 96
    assert by[("bert", "mean")].meta.get("positions") == "native"
    data = compare_settings(records, min_n=2)
    variants = sorted({(r["pooling"], r["variant"]) for r in data["rows"]})
    assert variants == [("lmk:g=32", "gp-96"), ("lmk:g=32", "windows"), ("mean", "gp-96"), ("mean", "windows")]
    row = next(r for r in data["rows"] if r["variant"] == "gp-96" and r["pooling"] == "mean")
    base = by[("bert", "mean")]
    other = by[("bert~gp-96", "mean")]
    assert row["cells"]["all"]["diff"] == pytest.approx(other.value - base.value, abs=1e-9)
    assert "gp-96" in format_settings_table(data)


def test_a_retrained_checkpoint_never_inherits_the_old_cells(bert_p32, tiny_beir, tmp_path, minilm_tokenizer):
    """The same folder name, other weights: another system. Its cells are filed beside the old ones (the
    label tagged with its identity), never read from them, and the old checkpoint's numbers stay as they were."""
    from transformers import BertModel

    from lmkbench.results import iter_results

    out = tmp_path / "res"
    model_dir = tmp_path / "bert"
    shutil.copytree(bert_p32, model_dir)
    _run(str(model_dir), tiny_beir, out)
    first = {r.pooling: (r.value, r.meta.model_identity) for r in iter_results(out)}
    again = _run(str(model_dir), tiny_beir, out)
    assert any("all 2 cells done" in line for line in again)
    m = BertModel.from_pretrained(model_dir)
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(-1.5)
    m.save_pretrained(model_dir)
    lines = _run(str(model_dir), tiny_beir, out)
    assert any("holds another system" in line and "bert@" in line for line in lines), lines
    records = list(iter_results(out))
    old = {r.pooling: (r.value, r.meta.model_identity) for r in records if r.model == "bert"}
    new = [r for r in records if r.model.startswith("bert@")]
    assert old == first and len(new) == 2
    assert {r.meta.model_identity for r in new} != {ident for _, ident in first.values()}
    assert len({r.meta.model_identity for r in new}) == 1
    assert not any("all 2 cells done" in line for line in lines)


def test_cell_is_recomputed_when_data_changes(bert_p32, tiny_beir, tmp_path):
    out = tmp_path / "res"
    _run(bert_p32, tiny_beir, out)
    with open(tiny_beir / "queries.jsonl", "a") as fh:
        fh.write(json.dumps({"_id": "q_new", "text": "another question about solar power"}) + "\n")
    with open(tiny_beir / "qrels" / "test.tsv", "a") as fh:
        fh.write("q_new\td0\t1\n")
    lines = _run(bert_p32, tiny_beir, out)
    assert any("dataset_checksums" in line and "recomputing" in line for line in lines), lines


def test_compare_and_report_show_settings_and_profile(bert_p32, tiny_beir, tmp_path, capsys):
    from lmkbench.cli import main

    out = tmp_path / "res"
    _run(bert_p32, tiny_beir, out)
    _run(bert_p32, tiny_beir, out, positions="pi", max_length=96)
    assert main(["compare", str(out), "--baseline", "mean", "--settings", "--profile", "--min-n", "2"]) == 0
    text = capsys.readouterr().out
    assert "== settings side by side ==" in text and "pi-96" in text
    assert "== LongEmbed profile ==" in text
    html = tmp_path / "r.html"
    assert main(["report", str(out), "-o", str(html), "--baseline", "mean"]) == 0
    page = html.read_text()
    assert 'id="settings-side-by-side"' in page and "pi-96" in page


def test_cells_from_other_data_are_never_paired(bert_p32, tiny_beir, tmp_path, capsys):
    """A cell whose data checksums differ from its group's (a hand-mixed folder) stops compare, report and
    baseline with one error naming the file, instead of pairing queries of two data versions."""
    from lmkbench.cli import main

    out = tmp_path / "res"
    _run(bert_p32, tiny_beir, out)
    victim = sorted(out.rglob("lmk*.json"))[0]
    doc = json.loads(victim.read_text())
    first = next(iter(doc["meta"]["dataset_checksums"]))
    doc["meta"]["dataset_checksums"][first] = "0" * 64
    victim.write_text(json.dumps(doc))
    for args in (["compare", str(out)], ["report", str(out), "-o", str(tmp_path / "r.html")],
                 ["baseline", str(out), "-o", str(tmp_path / "b.json")]):
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert "cannot be paired" in err and str(victim) in err and "Traceback" not in err
