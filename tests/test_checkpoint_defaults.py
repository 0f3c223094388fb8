"""A sentence-transformers checkpoint as it is: its max_seq_length is the default --max-length (recorded with its
source), and its query / document prompts are put in front of the texts they are for."""
from __future__ import annotations

import json
import shutil

import numpy as np

from lmkbench.encoder import PooledEncoder
from lmkbench.results import iter_results
from lmkbench.runner import Runner, RunSettings


def _st_checkpoint(tiny_bert, tmp_path, max_seq_length=32, prompts=None):
    folder = tmp_path / "st_model"
    shutil.copytree(tiny_bert, folder)
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": max_seq_length}))
    if prompts:
        (folder / "config_sentence_transformers.json").write_text(json.dumps({"prompts": prompts}))
    return str(folder)


def test_max_seq_length_is_the_default_and_an_explicit_length_wins(tiny_bert, tmp_path):
    model = _st_checkpoint(tiny_bert, tmp_path, max_seq_length=32)
    enc = PooledEncoder(model, cache_dir=False, progress=False, device="cpu")
    d = enc.describe()
    assert enc.max_length == 32 and "max_seq_length" in d["max_length_source"] and d["position_limit"] == 128
    explicit = PooledEncoder(model, cache_dir=False, progress=False, device="cpu", max_length=64)
    assert explicit.max_length == 64 and explicit.describe()["max_length_source"] == "--max-length"
    plain = PooledEncoder(tiny_bert, cache_dir=False, progress=False, device="cpu")
    assert plain.max_length == 128 and plain.describe()["max_length_source"] == "model position limit"


def test_prompts_go_in_front_of_queries_and_documents(tiny_bert, tiny_beir, tmp_path):
    prompts = {"query": "query: ", "document": "passage: "}
    model = _st_checkpoint(tiny_bert, tmp_path, max_seq_length=64, prompts=prompts)
    settings = RunSettings(model=model, poolings=["mean"], out_dir=tmp_path / "out", cache_dir=False, progress=False,
                           device="cpu")
    runner = Runner(settings, log=lambda *a: None)
    runner.run([f"beir:{tiny_beir}"])
    (rec,) = iter_results(tmp_path / "out")
    assert rec.meta.get("prompts") == {"queries": "query: ", "corpus": "passage: "}
    assert rec.meta.max_length == 64 and "max_seq_length" in rec.meta.get("max_length_source")
    # the stored query embeddings are those of the prompted texts
    from lmkbench.data.beir import load_beir_folder

    data = load_beir_folder(tiny_beir)
    qids = data.evaluated_query_ids()
    enc = PooledEncoder(model, cache_dir=False, progress=False, device="cpu")
    with_prompt = enc.encode(["query: " + data.queries[q] for q in qids], ["mean"]).embeddings["mean"]
    without = enc.encode([data.queries[q] for q in qids], ["mean"]).embeddings["mean"]
    from lmkbench.search import top_k

    docs = enc.encode(["passage: " + t for t in data.doc_texts()], ["mean"]).embeddings["mean"]
    _, idx = top_k(with_prompt, docs, 10)
    run_top = [line.split()[2] for line in next((tmp_path / "out").rglob("*.trec")).read_text().splitlines()
               if line.split()[0] == qids[0]][:10]
    assert [data.doc_ids()[j] for j in idx[0]] == run_top
    assert not np.allclose(with_prompt, without)
