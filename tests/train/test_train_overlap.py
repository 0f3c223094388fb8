"""No training on the test: train-matched refuses training documents that are in an evaluation corpus, unless
--allow-overlap, which is then recorded."""
from __future__ import annotations

import json

from lmkbench.cli import main
from lmkbench.results import iter_results
from lmkbench.train.overlap import hash_texts, normalise, text_hash

FAST = ["--steps", "1", "--batch-size", "2", "--lr", "1e-3", "--query-max-length", "16", "--doc-max-length", "32",
        "--device", "cpu", "--quiet", "--no-cache"]
OWN = ["Tides rise twice a day. The moon pulls the sea. Sailors read tide tables.",
       "Jazz grew in New Orleans. Brass bands played at parades. Improvisation is its heart.",
       "Chess openings are studied deeply. The Sicilian is sharp. Beginners learn the Italian game."]


def test_normalised_hash_ignores_case_space_punctuation_and_how_a_title_is_joined():
    assert normalise("Solar Power Panels  This document,\nis about it.") == "solar power panels this document is about it"
    assert text_hash("Solar Power Panels. This is it!") == text_hash("solar power panels this  is it")
    assert text_hash("a b") != text_hash("a c")
    assert text_hash(" ... ") is None and hash_texts(["", "x"]) == {text_hash("x")}


def _corpus(folder, extra: list[str]):
    folder.mkdir()
    for i, text in enumerate(OWN + extra):
        (folder / f"{i}.txt").write_text(text)
    return folder


def _eval_doc(tiny_beir, doc_id: str) -> str:
    for line in (tiny_beir / "corpus.jsonl").read_text().splitlines():
        d = json.loads(line)
        if d["_id"] == doc_id:
            return f"{d['title']}\n\n{d['text']}"          # laid out differently from the BEIR row
    raise KeyError(doc_id)


def test_a_shared_document_is_caught_and_refused(tiny_bert, tiny_beir, tmp_path, capsys):
    corpus = _corpus(tmp_path / "txt", [_eval_doc(tiny_beir, "d3")])
    out = tmp_path / "exp"
    args = ["train-matched", "--model", tiny_bert, "--poolings", "mean", "--data", f"ict:{corpus}", "--out", str(out),
            *FAST, "--eval-task", f"beir:{tiny_beir}"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "shares documents with the evaluation" in err and "1 of 9 documents (e.g. d3)" in err
    assert "--allow-overlap" in err and not (out / "models").exists()      # refused before any training

    assert main([*args, "--allow-overlap"]) == 0
    rec = json.loads((out / "matched.json").read_text())
    ov = rec["overlap"]
    assert ov["allowed"] is True and ov["shared"] == 1 and ov["training_documents"] == 4
    (task, found), = ov["tasks"].items()
    assert found == {"documents_checked": 9, "shared": 1, "shared_ids": ["d3"]}
    model_meta = json.loads((out / rec["arms"][0]["checkpoint"] / "lmkbench.json").read_text())
    assert model_meta["eval_overlap"]["shared"] == 1
    results = list(iter_results(out / "results"))
    assert results and all(r.meta.get("training_overlap") == {task: 1} for r in results)


def test_disjoint_training_data_passes_and_is_recorded_as_checked(tiny_bert, tiny_beir, tmp_path):
    corpus = _corpus(tmp_path / "txt", [])
    out = tmp_path / "exp"
    assert main(["train-matched", "--model", tiny_bert, "--poolings", "mean", "--data", f"crop:{corpus}?min_words=4",
                 "--out", str(out), *FAST, "--eval-task", f"beir:{tiny_beir}"]) == 0
    ov = json.loads((out / "matched.json").read_text())["overlap"]
    assert ov["shared"] == 0 and ov["allowed"] is False and ov["training_documents"] == 3
    assert "eval_overlap" not in json.loads((out / "models" / next(iter((out / "models").iterdir())).name
                                             / "lmkbench.json").read_text())
