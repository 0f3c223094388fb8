"""`lmkbench run` / `embed` end to end on a tiny model and a tiny BEIR folder."""
from __future__ import annotations

import json

import numpy as np
import pytest

from lmkbench.cli import main
from lmkbench.io import read_trec_run
from lmkbench.results import iter_results, read_result


def _run(tiny_bert, tiny_beir, out, *extra):
    return main(["run", "--model", tiny_bert, "--pooling", "cls,mean,lmk:g=8", "--task", f"beir:{tiny_beir}",
                 "--out", str(out), "--no-cache", "--quiet", "--max-length", "64", *extra])


def test_run_writes_one_result_per_pooling_and_resumes(tiny_bert, tiny_beir, tmp_path, capsys):
    out = tmp_path / "res"
    assert _run(tiny_bert, tiny_beir, out) == 0
    printed = capsys.readouterr().out
    assert "tinybeir" in printed and "lmk:g=8" in printed and "ndcg_at_10" in printed
    recs = {r.pooling: r for r in iter_results(out)}
    assert set(recs) == {"cls", "mean", "lmk:g=8"}
    rec = recs["lmk:g=8"]
    assert rec.task == "tinybeir" and rec.split == "test" and rec.task_kind == "retrieval"
    assert set(rec.items) == {f"q{i}" for i in range(8)}
    q0 = rec.items["q0"]
    assert {"ndcg_at_10", "recall_at_100", "mrr_at_10", "acc_at_1", "length", "lengths", "truncated"} <= set(q0)
    assert q0["lengths"] == sorted(q0["lengths"], reverse=True) and q0["length"] == q0["lengths"][0]
    assert rec.metrics["ndcg_at_10"] == pytest.approx(np.mean([v["ndcg_at_10"] for v in rec.items.values()]))
    meta = rec.meta
    assert meta.max_length == 64 and meta.long_policy == "truncate" and meta.dtype == "fp32"
    assert meta.truncated["corpus"] >= 1 and "torch" in meta.versions and "corpus.jsonl" in meta.dataset_checksums
    assert {"load_s", "encode_corpus_s", "evaluate_s"} <= set(meta.timings)
    run = read_trec_run(rec.trec_path)
    assert set(run) == set(rec.items) and all(len(v) == 10 for v in run.values())
    # resume: nothing recomputed, file untouched
    stamp = {p: (out / p).stat().st_mtime_ns for p in [r.path for r in recs.values()]}
    assert _run(tiny_bert, tiny_beir, out) == 0
    assert "all 3 cells done" in capsys.readouterr().out
    assert all((out / p).stat().st_mtime_ns == t for p, t in stamp.items())
    assert _run(tiny_bert, tiny_beir, out, "--overwrite") == 0
    assert any((out / p).stat().st_mtime_ns != t for p, t in stamp.items())


def test_bad_input_is_one_line_and_exit_2(tiny_bert, tiny_beir, tmp_path, capsys):
    (tiny_beir / "corpus.jsonl").write_text('{"_id": "a", "text": "x"}\n{broken\n')
    assert _run(tiny_bert, tiny_beir, tmp_path / "r") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "corpus.jsonl:2" in err[0] and "malformed JSON" in err[0]


@pytest.mark.parametrize("argv,needle", [
    (["run", "--model", "x", "--pooling", "nope", "--task", "beir:x"], "unknown pooling 'nope'"),
    (["run", "--model", "x", "--pooling", "lmk:q=3", "--task", "beir:x"], "has no parameter 'q'"),
    (["run", "--model", "x", "--frobnicate"], "unrecognized arguments"),
    (["embed", "--model", "x", "--pooling", "cls,mean", "--input", "a", "--output", "b.txt"], "must end in .npy"),
])
def test_usage_errors_exit_2(argv, needle, capsys):
    rc = main(argv)     # argparse's errors too are a return code, not SystemExit
    err = capsys.readouterr().err
    assert rc == 2 and needle in err and len(err.strip().splitlines()) == 1


def test_embed_writes_normalised_embeddings_in_input_order(tiny_bert, tmp_path):
    src = tmp_path / "in.jsonl"
    texts = ["first", "second text", "", "third [SEP] text"]
    src.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    out = tmp_path / "emb.npy"
    assert main(["embed", "--model", tiny_bert, "--pooling", "lmk", "--input", str(src), "--output", str(out),
                 "--no-cache", "--quiet"]) == 0
    emb = np.load(out)
    assert emb.shape == (4, 32) and np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
    txt = tmp_path / "in.txt"
    txt.write_text("\n".join(texts) + "\n")
    out2 = tmp_path / "emb2.npy"
    assert main(["embed", "--model", tiny_bert, "--pooling", "lmk:g=32", "--input", str(txt), "--output", str(out2),
                 "--no-cache", "--quiet"]) == 0
    assert np.allclose(np.load(out2), emb, atol=1e-6)


def test_poolings_command_lists_registry(capsys):
    assert main(["poolings", "--markdown"]) == 0
    out = capsys.readouterr().out
    for name in ("`cls`", "`mean`", "`lmk:g=32`", "`multicls:g=32`", "`mean_every:k=64`", "`last`"):
        assert name in out


def test_result_files_are_valid_and_readable(tiny_bert, tiny_beir, tmp_path):
    out = tmp_path / "res"
    _run(tiny_bert, tiny_beir, out)
    for p in out.rglob("*.json"):
        rec = read_result(p)
        assert rec.path == p and rec.to_json()["schema"] == "lmkbench.result/1"
        assert rec.to_json() == json.loads(p.read_text())   # the record holds the whole file
        # scores declared, not guessed: the evaluator's metric keys, never a numeric description of the query
        assert rec.item_scores == ["ndcg_at_10", "recall_at_10", "recall_at_100", "mrr_at_10", "acc_at_1"]
        assert "query_length" in rec.items["q0"] and "query_length" not in rec.score_fields()
    assert not list(out.rglob("*.tmp"))


def test_dense_and_lexical_cells_are_built_by_one_builder(tiny_bert, tiny_beir, tmp_path):
    """One builder for both: the same top-level keys, and the meta keys of the data's provenance and the run."""
    out = tmp_path / "res"
    assert _run(tiny_bert, tiny_beir, out, "--pooling", "mean") == 0
    assert main(["run", "--model", "bm25", "--task", f"beir:{tiny_beir}", "--out", str(out), "--quiet"]) == 0
    recs = {r.pooling: r for r in iter_results(out)}
    dense, lexical = recs["mean"], recs["bm25"]
    assert list(dense.to_json()) == list(lexical.to_json())
    shared = ["lmkbench_task_source", "license", "dataset_checksums", "dataset_info", "evaluator_options",
              "truncated", "split", "n_texts", "timings", "evaluator", "versions", "hardware", "git_commit", "created"]
    assert all(dense.meta.has(k) and lexical.meta.has(k) for k in shared)
    assert lexical.meta.get("bm25") and lexical.meta.long_policy == "none" and dense.meta.text_sets
    assert dense.item_scores == lexical.item_scores


class _Weights:
    """A stand-in model: only its parameter count matters to the hint."""

    def __init__(self, n):
        import torch

        self.weights = [torch.nn.Parameter(torch.empty(n))]

    def parameters(self):
        return self.weights


@pytest.mark.parametrize("weights,gain,shown", [(22_368, 28.0, None), (11_000_000, 1.05, None),
                                                (11_000_000, 2.2, "2.2x faster")])
def test_bf16_hint_only_where_the_figure_means_something(weights, gain, shown):
    """A tiny model is not timed at all (its 0.0x or 28x was noise); a measured gain below 1.2x is not shown."""
    from lmkbench.commands.run import bf16_hint

    timed = []
    hint = bf16_hint(_Weights(weights), lambda: timed.append(1) or gain)
    assert timed == ([] if weights < 5_000_000 else [1])
    assert (hint is None) if shown is None else (shown in hint and hint.startswith("hint: this CPU has native bf16"))

