"""lmkbench poolings under ``mteb.evaluate``: the adapter gives mteb exactly lmkbench's embeddings.

Offline: a custom local mteb retrieval task built from the ``tiny_beir`` fixture, the ``tiny_bert`` model.
For a landmark pooling (which only lmkbench implements) mteb's NDCG@10 per query must equal what
``lmkbench run`` reports for the same model, pooling and maximum length: same texts in (mteb joins title and
body as lmkbench does), same embeddings out, two independent search-and-score implementations.

Strategies (issue 22 item 1): queries use the inner pooling as ``lmkbench run`` does; a multi-vector strategy
(agg=max) is searched by its best chunk (MaxP) through mteb's search interface and scores exactly as ``run``;
mteb's own mock text tasks run under the adapter for every pooling family.
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
from lmkbench.mteb_adapter import MtebMaxPEncoder, MtebPooledEncoder, mteb_encoders, rerank_maxp  # noqa: E402
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


@pytest.mark.parametrize("pooling", ["lmk:g=8", "chunk:size=16,pool=mean,agg=max", "late:size=16,pool=mean,agg=max",
                                     "chunk:size=16,pool=cls,agg=mean"])
def test_mteb_evaluate_equals_lmkbench_run(pooling, tiny_bert, tiny_beir, tmp_path):
    """Per query, mteb's NDCG@10 under the adapter equals ``lmkbench run``'s: a landmark pooling, MaxP strategies
    (several vectors per document: mteb's search interface) and a strategy whose queries use its inner pooling."""
    task = local_retrieval_task(tiny_beir)
    model = MtebPooledEncoder(tiny_bert, pooling, max_length=64, cache_dir=False, progress=False)
    result = mteb.evaluate(model, task, cache=None, show_progress_bar=False,
                           encode_kwargs={"batch_size": 4, "show_progress_bar": False})
    mteb_mean = result.task_results[0].scores["test"][0]["ndcg_at_10"]

    assert main(["run", "--model", tiny_bert, "--pooling", pooling, "--task", f"beir:{tiny_beir}", "--out",
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


def _encode(model, texts, prompt_type=None):
    batches = [{"text": texts[:2]}, {"text": texts[2:]}]
    return model.encode(batches, task_metadata=mteb.get_task("SciFact").metadata, hf_split="test",
                        hf_subset="default", prompt_type=prompt_type)


TEXTS = ["short query", "a second, much longer text about solar panels on the roofs of many houses " * 3, ""]


def test_queries_use_the_inner_pooling_and_other_texts_one_vector_each(tiny_bert):
    """``lmkbench run``'s rule: a query (mteb's prompt_type=query) gets a strategy's inner pooling; any other
    text one vector per text (the strategy, or its agg=mean variant for agg=max)."""
    from mteb.types import PromptType

    shared = PooledEncoder(tiny_bert, cache_dir=False, progress=False, max_length=64)
    want = shared.encode(TEXTS, ["cls", "chunk:size=16,pool=cls,agg=mean"]).embeddings
    mean_var = want["chunk:size=16,pool=cls,agg=mean"]
    for spec in ("chunk:size=16,pool=cls,agg=mean", "chunk:size=16,pool=cls,agg=max"):
        model = MtebPooledEncoder(shared, spec)
        np.testing.assert_allclose(_encode(model, TEXTS, PromptType.query), want["cls"], atol=1e-6)
        for other in (PromptType.document, None):
            got = _encode(model, TEXTS, other)
            assert got.shape == (3, 32)
            np.testing.assert_allclose(got, mean_var, atol=1e-6)
    assert not np.allclose(want["cls"][1], mean_var[1], atol=1e-3)   # the long text: the rule shows


def test_a_multi_vector_strategy_is_a_search_model_and_the_others_are_not(tiny_bert):
    from mteb.models import EncoderProtocol, SearchProtocol

    shared = PooledEncoder(tiny_bert, cache_dir=False, progress=False, max_length=64)
    maxp, late, plain = (MtebPooledEncoder(shared, p) for p in ("chunk:size=16,agg=max", "late:size=16", "mean"))
    assert type(maxp) is MtebMaxPEncoder and type(late) is MtebMaxPEncoder and type(plain) is MtebPooledEncoder
    assert isinstance(maxp, SearchProtocol) and isinstance(maxp, EncoderProtocol)
    assert not isinstance(plain, SearchProtocol)            # mteb's own search wrapper ranks single vectors
    assert not isinstance(MtebPooledEncoder(shared, "chunk:size=16,agg=mean"), SearchProtocol)
    with pytest.raises(LmkbenchError, match="before index"):
        maxp.search(None, task_metadata=None, hf_split="test", hf_subset="default", top_k=3)


def test_rerank_scores_each_candidate_by_its_best_row():
    rng = np.random.default_rng(0)
    owners = np.array([0, 0, 0, 1, 2, 2])
    rows = rng.normal(size=(6, 4)).astype(np.float32)
    q = rng.normal(size=(2, 4)).astype(np.float32)
    out = rerank_maxp(q, ["a", "b"], rows, owners, ["d0", "d1", "d2"], {"a": ["d2", "d0"], "b": ["d1", "nope"]}, 5)
    best = [max(rows[i] @ q[0] for i in np.flatnonzero(owners == d)) for d in (0, 2)]
    assert out["a"] == pytest.approx({"d0": best[0], "d2": best[1]}) and list(out["a"]) == sorted(
        out["a"], key=lambda d: -out["a"][d])
    assert out["b"] == pytest.approx({"d1": float(rows[3] @ q[1])})
    assert len(rerank_maxp(q, ["a"], rows, owners, ["d0", "d1", "d2"], {"a": ["d0", "d1", "d2"]}, 2)["a"]) == 2


def _mock_text_tasks():
    from mteb.mocks import mock_tasks

    tasks = [getattr(mock_tasks, n)() for n in mock_tasks.__all__ if "Multilingual" not in n]
    return [t for t in tasks if list(t.metadata.modalities) == ["text"]]


#: one pooling of every input family (plain, landmark, multicls, chunk, late) and each adapter path (a pooling,
#: a one-vector strategy, MaxP search) over every mock text task; the other poolings over the task types whose
#: inputs differ (queries and documents, candidates, pairs, labels)
ALL_TASKS = ["mean", "lmk:g=8", "multicls:g=8", "chunk:size=16,agg=mean", "chunk:size=16,agg=max",
             "late:size=16,agg=max"]
FAMILIES = ["cls", "mean_every:k=4", "late:size=16,agg=mean"]
SOME_TASKS = ("MockRetrievalTask", "MockRerankingTask", "MockSTSTask", "MockClassificationTask")


@pytest.fixture(scope="module")
def shared_tiny(tiny_bert):
    return PooledEncoder(tiny_bert, cache_dir=False, progress=False, max_length=64)


@pytest.mark.parametrize("pooling", ALL_TASKS + FAMILIES)
def test_mteb_mock_text_tasks_run_under_the_adapter(pooling, shared_tiny):
    tasks = _mock_text_tasks()
    assert len(tasks) >= 14
    if pooling in FAMILIES:
        tasks = [t for t in tasks if type(t).__name__ in SOME_TASKS]
    result = mteb.evaluate(MtebPooledEncoder(shared_tiny, pooling), tasks, cache=None, raise_error=True,
                           show_progress_bar=False, encode_kwargs={"show_progress_bar": False})
    assert len(result.task_results) == len(tasks)
    for res in result.task_results:
        assert np.isfinite(res.get_score()), (pooling, res.task_name)
