"""lmkbench poolings under ``mteb.evaluate``: the adapter gives mteb exactly lmkbench's embeddings.

Offline: a custom local mteb retrieval task built from the ``tiny_beir`` fixture, the ``tiny_bert`` model.
For a landmark pooling (which only lmkbench implements) mteb's NDCG@10 per query must equal what
``lmkbench run`` reports for the same model, pooling and maximum length: same texts in (mteb joins title and
body as lmkbench does), same embeddings out, two independent search-and-score implementations.
"""
from __future__ import annotations

import numpy as np
import pytest

mteb = pytest.importorskip("mteb")
pytest.importorskip("datasets")

from lmkbench.cli import main  # noqa: E402
from lmkbench.data.beir import load_beir_folder  # noqa: E402
from lmkbench.encoder import PooledEncoder  # noqa: E402
from lmkbench.errors import LmkbenchError  # noqa: E402
from lmkbench.mteb_adapter import MtebPooledEncoder, mteb_encoders  # noqa: E402
from lmkbench.results import iter_results  # noqa: E402
from test_mteb_retrieval_agreement import local_retrieval_task  # noqa: E402


def test_model_meta_names_the_pooling_and_satisfies_mteb(tiny_bert):
    enc = MtebPooledEncoder(tiny_bert, "lmk:g=8", cache_dir=False, progress=False, max_length=64)
    meta = enc.mteb_model_meta
    assert "/" in meta.name and "lmk" in meta.name and meta.name.startswith("lmkbench/")
    assert meta.embed_dim == 32 and meta.max_tokens == 64 and meta.similarity_fn_name.value == "cosine"
    assert meta.experiment_kwargs["pooling"] == "lmk:g=8"
    with pytest.raises(LmkbenchError, match="org/name"):
        MtebPooledEncoder(enc.encoder, "mean", name="no-slash")


def test_encode_returns_the_pooled_encoder_embeddings(tiny_bert):
    shared = PooledEncoder(tiny_bert, cache_dir=False, progress=False, max_length=64)
    a, b = MtebPooledEncoder(shared, "cls"), MtebPooledEncoder(shared, "lmk:g=8")
    texts = ["first text", "a second, longer text about solar panels", ""]
    batches = [{"text": texts[:2]}, {"text": texts[2:]}]          # mteb hands a DataLoader of dict batches
    task_meta = mteb.get_task("SciFact").metadata                  # any metadata: the adapter ignores it
    got = b.encode(batches, task_metadata=task_meta, hf_split="test", hf_subset="default")
    want = shared.encode(texts, ["lmk:g=8"]).embeddings["lmk:g=8"]
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert got.shape == (3, 32) and np.allclose(np.linalg.norm(got, axis=1), 1, atol=1e-5)
    assert a.encoder is b.encoder and a.mteb_model_meta.name != b.mteb_model_meta.name


def test_mteb_evaluate_with_lmk_pooling_equals_lmkbench_run(tiny_bert, tiny_beir, tmp_path):
    task = local_retrieval_task(tiny_beir)
    model = MtebPooledEncoder(tiny_bert, "lmk:g=8", max_length=64, cache_dir=False, progress=False)
    result = mteb.evaluate(model, task, cache=None, show_progress_bar=False,
                           encode_kwargs={"batch_size": 4, "show_progress_bar": False})
    mteb_mean = result.task_results[0].scores["test"][0]["ndcg_at_10"]

    assert main(["run", "--model", tiny_bert, "--pooling", "lmk:g=8", "--task", f"beir:{tiny_beir}", "--out",
                 str(tmp_path / "res"), "--max-length", "64", "--no-cache", "--quiet"]) == 0
    (rec,) = list(iter_results(tmp_path / "res"))
    ours = {q: v["ndcg_at_10"] for q, v in rec.items.items()}
    assert set(ours) == set(task.per_query) == set(load_beir_folder(tiny_beir).evaluated_query_ids())
    for q in ours:
        assert ours[q] == pytest.approx(task.per_query[q], abs=1e-6), q
    assert rec.metrics["ndcg_at_10"] == pytest.approx(mteb_mean, abs=1e-5)


def test_mteb_encoders_share_one_model(tiny_bert):
    encs = mteb_encoders(tiny_bert, ["cls", "mean", "lmk"], cache_dir=False, progress=False)
    assert [e.pooling for e in encs] == ["cls", "mean", "lmk:g=32"]
    assert len({id(e.encoder) for e in encs}) == 1
