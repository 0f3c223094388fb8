"""Systems, not labels (issue 27): what produced a number is one record, results are filed and reused by it, and
any system can be compared with any other. Each test here failed on the build before it."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from lmkbench.cli import main
from lmkbench.errors import InputError, LmkbenchError
from lmkbench.results import iter_results
from lmkbench.stats.compare import compare

P = 64


@pytest.fixture(scope="module")
def bert(tmp_path_factory, minilm_tokenizer) -> Path:
    from _support import one_layer_bert

    return one_layer_bert(tmp_path_factory.mktemp("m") / "tinybert", minilm_tokenizer, P, seed=5)


def _other_weights(src: Path, dst: Path, factor: float = -1.5) -> Path:
    from transformers import BertModel

    shutil.copytree(src, dst)
    m = BertModel.from_pretrained(dst)
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(factor)
    m.save_pretrained(dst)
    return dst


def _run(model, task, out, poolings=("mean", "cls"), log=None, overwrite=False, tokenizer=None, **settings):
    from lmkbench.runner import Runner, RunSettings

    lines = [] if log is None else log
    Runner(RunSettings(str(model), list(poolings) if poolings else None, out, progress=False, device="cpu",
                       overwrite=overwrite, tokenizer=tokenizer, **{"cache_dir": False, **settings}), log=lines.append).run([f"beir:{task}"])
    return lines


def _cells(out) -> dict[tuple[str, str, str], float]:
    return {(r.task, r.model, r.pooling): r.value for r in iter_results(out)}


# -- stale after a change ------------------------------------------------------------------------------------
def test_a_code_change_recomputes_finished_cells(bert, tiny_beir, tmp_path, monkeypatch):
    from lmkbench import system

    out = tmp_path / "res"
    _run(bert, tiny_beir, out)
    assert any("all 2 cells done" in line for line in _run(bert, tiny_beir, out))
    # what a one-byte edit of an evaluation module does to the digest of the code that computes a number
    monkeypatch.setattr(system, "_result_modules_digest", lambda: "edited")
    lines = _run(bert, tiny_beir, out)
    assert sum("recomputing" in line and "system.code" in line for line in lines) == 2, lines


def test_identity_covers_remote_code_and_subfolders(bert, tmp_path):
    from lmkbench.models import model_identity

    folder = tmp_path / "ck"
    shutil.copytree(bert, folder)
    ident = lambda: model_identity("ck", str(folder))   # noqa: E731
    before = ident()
    (folder / "modeling_custom.py").write_text("X = 1\n")
    with_code = ident()
    (folder / "modeling_custom.py").write_text("X = 2\n")
    edited = ident()
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text('{"pooling_mode_cls_token": true}')
    with_module = ident()
    assert len({before, with_code, edited, with_module}) == 4
    (folder / "checkpoints" / "step-000001").mkdir(parents=True)          # training state: never loaded
    (folder / "checkpoints" / "step-000001" / "trainer_state.pt").write_bytes(b"x")
    assert ident() == with_module


def test_overwrite_recomputes_stored_vectors(bert, tiny_beir, tmp_path):
    out, cache = tmp_path / "res", tmp_path / "cache"
    _run(bert, tiny_beir, out, cache_dir=cache)
    reused = []
    _run(bert, tiny_beir, tmp_path / "res2", log=reused, cache_dir=cache)
    assert any("reused" in line for line in reused)            # the store serves a second results folder
    again = _run(bert, tiny_beir, out, overwrite=True, cache_dir=cache)
    assert not any("reused" in line or "cells done" in line for line in again), again


def test_a_symlinked_store_slot_is_never_read_through(tmp_path):
    from lmkbench.store import DiskStore

    store = DiskStore(tmp_path / "store")
    rows = 3
    arrays = {"emb": np.eye(rows, 4, dtype=np.float32), "ntok": np.ones(rows, np.int32),
              "cut": np.zeros(rows, bool), "split": np.zeros(rows, bool)}
    a = store.slot(model="m", pooling="mean")
    b = store.slot(model="m", pooling="cls")
    stem = "3-abc"
    a.write(stem, arrays)
    b.dir.symlink_to(a.dir, target_is_directory=True)
    b = store.slot(model="m", pooling="cls")
    assert not b.has(stem) and not b.dir.is_symlink()
    assert a.has(stem)                                          # the other slot's shard is untouched


# -- two systems, one file ---------------------------------------------------------------------------------
def test_two_checkpoints_with_one_basename_keep_both(bert, tiny_beir, tmp_path):
    a = tmp_path / "a" / "tinybert"
    shutil.copytree(bert, a)
    b = _other_weights(bert, tmp_path / "b" / "tinybert")
    out = tmp_path / "res"
    _run(a, tiny_beir, out)
    first = _cells(out)
    lines = _run(b, tiny_beir, out)
    cells = _cells(out)
    assert {k: v for k, v in cells.items() if k[1] == "tinybert"} == first
    tagged = {k for k in cells if k[1].startswith("tinybert@")}
    assert len(tagged) == 2 and any("filed under tinybert@" in line for line in lines)
    assert any("all 2 cells done" in line for line in _run(b, tiny_beir, out))   # it finds its cells again
    assert any("all 2 cells done" in line for line in _run(a, tiny_beir, out))


def test_two_data_folders_with_one_basename_keep_both(bert, tiny_beir, tmp_path):
    other = tmp_path / "y" / tiny_beir.name
    shutil.copytree(tiny_beir, other)
    with open(other / "queries.jsonl", "a") as fh:
        fh.write(json.dumps({"_id": "q_new", "text": "another question about solar power"}) + "\n")
    with open(other / "qrels" / "test.tsv", "a") as fh:
        fh.write("q_new\td0\t1\n")
    out = tmp_path / "res"
    _run(bert, tiny_beir, out)
    _run(bert, other, out)
    tasks = {r.task: r.meta.get("task_name") for r in iter_results(out)}
    assert len(tasks) == 2 and set(tasks.values()) == {tiny_beir.name}
    assert any("all 2 cells done" in line for line in _run(bert, tiny_beir, out))


def test_fp32_and_bf16_never_share_a_cell(bert, tiny_beir, tmp_path):
    out = tmp_path / "res"
    _run(bert, tiny_beir, out, poolings=["mean"], dtype="fp32")
    _run(bert, tiny_beir, out, poolings=["mean"], dtype="bf16")
    by_label = {r.model: r.meta.dtype for r in iter_results(out)}
    assert by_label == {"tinybert~fp32": "fp32", "tinybert~bf16": "bf16"}


def test_a_folder_named_like_a_variant_is_not_that_variant(bert, tiny_beir, tmp_path):
    odd = tmp_path / "tinybert~pi-96"
    shutil.copytree(_other_weights(bert, tmp_path / "w"), odd)
    out = tmp_path / "res"
    _run(bert, tiny_beir, out, poolings=["mean"], positions="pi", max_length=96)
    _run(odd, tiny_beir, out, poolings=["mean"])
    labels = {r.model: r.meta.model_identity for r in iter_results(out)}
    assert set(labels) == {"tinybert~pi-96", "tinybert-pi-96"} and len(set(labels.values())) == 2


# -- pairs that are not pairs --------------------------------------------------------------------------------
def test_compare_refuses_cells_of_two_systems_under_one_label(bert, tiny_beir, tmp_path, caplog):
    out = tmp_path / "res"
    _run(bert, tiny_beir, out)
    other = tmp_path / "res_other"
    _run(_other_weights(bert, tmp_path / "w" / "tinybert"), tiny_beir, other)
    # a partial rerun from before: the new checkpoint's mean beside the old one's cls, one label
    (dst,) = [p for p in out.rglob("mean.json")]
    (src,) = [p for p in other.rglob("mean.json")]
    shutil.copy(src, dst)
    with pytest.raises(InputError, match="different systems.*identity"):
        compare(out)
    assert compare(out, allow_mixed=True).rows and "paired anyway" in caplog.text
    assert main(["compare", str(out)]) == 2


# -- any system against any baseline ----------------------------------------------------------------------------
def test_a_selector_that_matches_nothing_is_an_error(bert, tiny_beir, tmp_path, capsys):
    out = tmp_path / "res"
    _run(bert, tiny_beir, out)
    for bad, hint in (("meen", "did you mean 'mean'"), ("model=tinybret", "did you mean 'tinybert'"),
                      ("modle=tinybert", "did you mean 'model'")):
        assert main(["compare", str(out), "--baseline", bad]) == 2
        assert hint in capsys.readouterr().err
    assert main(["compare", str(out), "--systems", "pooling=lmk"]) == 2


def test_checkpoint_against_checkpoint_by_length(bert, tiny_beir, tmp_path):
    out = tmp_path / "res"
    _run(bert, tiny_beir, out)
    _run(_other_weights(bert, tmp_path / "other"), tiny_beir, out)
    cmp = compare(out, baseline="model=tinybert", min_n=2)
    base = {r.pooling: r for r in iter_results(out) if r.model == "tinybert"}
    other = {r.pooling: r for r in iter_results(out) if r.model == "other"}
    for pooling in ("mean", "cls"):
        (row,) = cmp.select(model=pooling, pooling="other", bucket="all")
        assert row.mean_diff == pytest.approx(other[pooling].value - base[pooling].value, abs=1e-12)
    assert {g.model for g in cmp.groups} == {"mean", "cls"}
    one = compare(out, baseline="model=tinybert,pooling=mean", min_n=2)
    assert {r.pooling for r in one.rows} == {"tinybert · mean", "tinybert · cls", "other · mean", "other · cls"}
    assert compare(out, baseline="mean", systems="model=other").groups[0].model == "other"


def test_matched_arms_as_plain_checkpoints_reproduce_the_matched_comparison(tiny_bert, tiny_beir, tmp_path):
    """The acceptance of issue 27: a matched experiment's arms, run as plain checkpoint folders with
    ``lmkbench run`` and compared with the mean checkpoint as the baseline, give that seed's Δs and p-values
    exactly, without train-matched's relabelled view."""
    from tests.stats.test_seed_spread import FAST

    exp = tmp_path / "exp"
    assert main(["train-matched", "--model", tiny_bert, "--poolings", "cls,mean", "--data", f"beir:{tiny_beir}#test",
                 "--out", str(exp), *FAST, "--eval-task", f"beir:{tiny_beir}", "--seeds", "0"]) == 0
    matched = compare(exp / "results_matched", baseline="mean", min_n=2)
    arms = sorted(p for p in (exp / "models").iterdir() if (p / "config.json").exists())
    plain = tmp_path / "plain"
    for arm in arms:
        assert main(["run", "--model", str(arm), "--task", f"beir:{tiny_beir}", "--out", str(plain), "--no-cache",
                     "--quiet", "--device", "cpu"]) == 0
    mean_arm = next(a.name for a in arms if "mean" in a.name)
    cross = compare(plain, baseline=f"model={mean_arm},pooling=mean", min_n=2)
    old = {(r.bucket): r for r in matched.rows if r.pooling == "cls"}
    new = {(r.bucket): r for r in cross.rows if r.pooling.endswith("· cls")}
    assert old.keys() == new.keys() and old
    for bucket, r in old.items():
        n = new[bucket]
        assert (n.mean_diff, n.p, n.p_adj, n.n_paired) == (r.mean_diff, r.p, r.p_adj, r.n_paired)


def test_selector_parsing():
    from lmkbench.stats.select import Selector

    assert Selector.parse("mean").terms == (("pooling", ("mean",)),)
    assert Selector.parse("lmk:g=32").terms == (("pooling", ("lmk:g=32",)),)
    assert Selector.parse("model=a|b,pooling=cls").terms == (("model", ("a", "b")), ("pooling", ("cls",)))
    assert Selector.parse("model=a*").matches({"model": "abc"})
    assert Selector.parse("lmk").matches({"pooling": "lmk:g=32"})
    with pytest.raises(LmkbenchError):
        Selector.parse("")



def test_bm25_with_a_changed_tokenizer_folder_is_not_reused(tiny_beir, tmp_path, minilm_tokenizer):
    from lmkbench.models import resolve_model_path

    tok = tmp_path / "tok"
    minilm_tokenizer.save_pretrained(tok)
    shutil.copy(Path(resolve_model_path("minilm")) / "config.json", tok / "config.json")
    out = tmp_path / "res"
    _run("bm25", tiny_beir, out, poolings=None, tokenizer=str(tok))
    assert any("cell done" in line for line in _run("bm25", tiny_beir, out, poolings=None, tokenizer=str(tok)))
    cfg = json.loads((tok / "tokenizer_config.json").read_text())
    cfg["model_max_length"] = 77
    (tok / "tokenizer_config.json").write_text(json.dumps(cfg))
    lines = _run("bm25", tiny_beir, out, poolings=None, tokenizer=str(tok))
    assert not any("cell done" in line for line in lines), lines
    assert len({r.meta.get("system")["identity"] for r in iter_results(out)}) == 2


def test_a_trained_checkpoint_pairs_with_an_untrained_one(make_records):
    """The seed separates groups only where the baseline comes in several seeds: a trained checkpoint (seed 0 in
    its provenance) is compared with the untrained base at the same pooling."""
    base, trained = make_records
    cmp = compare([base, trained], baseline="model=base", min_n=2)
    (row,) = [r for r in cmp.rows if r.pooling == "tuned" and r.bucket == "all"]
    assert row.mean_diff == pytest.approx(trained.value - base.value)


@pytest.fixture()
def make_records():
    from lmkbench.results import ResultRecord

    def rec(model, seed, shift):
        scores = {f"q{i}": {"ndcg_at_10": min(1.0, 0.3 + 0.02 * i + shift), "length": 100 * i} for i in range(20)}
        system = {"name": model, "pooling": "mean", "variant": "", "kind": "dense", "identity": f"id-{model}",
                  "settings": {}, "seed": seed, "code": "c"}
        return ResultRecord.from_json({
            "schema": "lmkbench.result/1", "task": "t", "task_kind": "retrieval", "model": model, "pooling": "mean",
            "main_metric": "ndcg_at_10", "item_scores": ["ndcg_at_10"],
            "metrics": {"ndcg_at_10": sum(v["ndcg_at_10"] for v in scores.values()) / 20}, "per_query": scores,
            "meta": {"system": system}})

    return rec("base", None, 0.0), rec("tuned", 0, 0.1)


def test_the_untrained_warning_names_poolings_whatever_the_arms_are():
    """Settings side by side (arms: variants) of a mean-trained checkpoint read with cls: the warning names each
    checkpoint label and cls, not the variants."""
    from lmkbench.results import ResultRecord

    def rec(label):
        scores = {f"q{i}": {"ndcg_at_10": 0.3 + 0.02 * i, "length": 100 * i} for i in range(20)}
        return ResultRecord.from_json({
            "schema": "lmkbench.result/1", "task": "t", "task_kind": "retrieval", "model": label, "pooling": "cls",
            "main_metric": "ndcg_at_10", "item_scores": ["ndcg_at_10"], "metrics": {"ndcg_at_10": 0.5},
            "per_query": scores, "meta": {"trained_pooling": "mean", "pooling_mismatch": True}})

    cmp = compare([rec("m"), rec("m~pi-256")], baseline="variant=as-trained", min_n=2)
    assert cmp.untrained() == {label: {"trained": ["mean"], "untrained": ["cls"]} for label in ("m", "m~pi-256")}
