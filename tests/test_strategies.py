"""Long-document strategies (chunk, late): checked against the model called by hand, chunk by chunk."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from lmkbench.encoder import PooledEncoder
from lmkbench.errors import LmkbenchError
from lmkbench.poolings import make_pooling
from lmkbench.search import top_k

SIZE = 10  # tokens per chunk, [CLS] and [SEP] included: 8 content tokens


def _texts():
    words = "river stone lantern orbit velvet quartz harbor meadow cipher falcon".split()
    return ["", "lantern", " ".join(words[:5]), " ".join(words * 3), " ".join(reversed(words * 2))]


def _hand(model_dir):
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()

    def hidden(ids):
        with torch.inference_mode():
            return model(input_ids=torch.tensor([ids])).last_hidden_state[0].double().numpy()

    def content(text):
        return tok(text.strip(), add_special_tokens=False)["input_ids"]

    return tok, hidden, content


def _unit(v):
    return v / np.linalg.norm(v)


def _chunks_by_hand(model_dir, texts, pool):
    """Per text: every chunk framed [CLS] piece [SEP], its own forward pass, pooled and normalised."""
    tok, hidden, content = _hand(model_dir)
    room = SIZE - 2
    out = []
    for t in texts:
        ids = content(t)
        pieces = [ids[i:i + room] for i in range(0, len(ids), room)] or [[]]
        vecs = []
        for piece in pieces:
            h = hidden([tok.cls_token_id, *piece, tok.sep_token_id])
            vecs.append(_unit(h[0] if pool == "cls" else h.mean(0)))
        out.append(np.array(vecs))
    return out


@pytest.mark.parametrize("pool", ["mean", "cls"])
def test_chunk_max_and_mean_equal_chunks_pooled_one_by_one(tiny_bert, pool):
    texts = _texts()
    ref = _chunks_by_hand(tiny_bert, texts, pool)
    enc = PooledEncoder(tiny_bert, cache_dir=False, progress=False, max_length=32, device="cpu")
    got = enc.encode(texts, [f"chunk:size={SIZE},pool={pool},agg=max", f"chunk:size={SIZE},pool={pool},agg=mean"])
    maxp, meanp = f"chunk:size={SIZE},pool={pool},agg=max", f"chunk:size={SIZE},pool={pool},agg=mean"
    owners = got.owners[maxp]
    assert np.bincount(owners).tolist() == [len(r) for r in ref]
    np.testing.assert_allclose(got.embeddings[maxp], np.concatenate(ref), atol=1e-5)
    np.testing.assert_allclose(got.embeddings[meanp], np.array([_unit(r.mean(0)) for r in ref]), atol=1e-5)
    assert got.split[maxp].tolist() == [len(r) > 1 for r in ref] and not got.truncated[maxp].any()
    # MaxP search: a document scores its best chunk
    q = got.embeddings[meanp][[3, 1]]
    s, i = top_k(q, got.embeddings[maxp], k=5, owners=owners, corpus_chunk=3)
    brute = np.array([[float((r @ qq).max()) for r in ref] for qq in q])
    np.testing.assert_array_equal(i, np.argsort(-brute, axis=1, kind="stable"))
    np.testing.assert_allclose(s, -np.sort(-brute, axis=1), atol=1e-5)


@pytest.mark.parametrize("policy", ["truncate", "windows"])
def test_late_chunking_equals_spans_of_one_forward_pass(tiny_bert, policy):
    texts = _texts()
    tok, hidden, content = _hand(tiny_bert)
    max_length, room = 16, SIZE - 2
    enc = PooledEncoder(tiny_bert, cache_dir=False, progress=False, max_length=max_length, long_policy=policy,
                        device="cpu")
    got = enc.encode(texts, [f"late:size={SIZE},agg=max", f"late:size={SIZE},agg=mean"])
    rows, owner = got.embeddings[f"late:size={SIZE},pool=mean,agg=max"], got.owners[f"late:size={SIZE},pool=mean,agg=max"]
    for t, text in enumerate(texts):
        ids = content(text)
        windows = [ids[i:i + max_length - 2] for i in range(0, len(ids), max_length - 2)] or [[]]
        if policy == "truncate":
            windows = windows[:1]
        sums: dict[int, list] = {}
        at = 0
        for w in windows:  # one forward pass per window; spans of content, [CLS] to the first, [SEP] to the last
            h = hidden([tok.cls_token_id, *w, tok.sep_token_id])
            chunk_of = [(at + j) // room for j in range(len(w))] or [0]
            units = [chunk_of[0], *chunk_of[:len(w)], chunk_of[-1]]
            for pos, u in enumerate(units):
                sums.setdefault(u, []).append(h[pos])
            at += len(w)
        want = np.array([_unit(np.mean(sums[u], 0)) for u in sorted(sums)])
        np.testing.assert_allclose(rows[owner == t], want, atol=1e-5, err_msg=f"text {t}")
        np.testing.assert_allclose(got.embeddings[f"late:size={SIZE},pool=mean,agg=mean"][t], _unit(want.mean(0)),
                                   atol=1e-5)


def test_short_document_reduces_to_the_plain_pooling(tiny_bert):
    texts = ["lantern orbit", "river stone velvet", ""]  # all shorter than one chunk of 8 content tokens
    enc = PooledEncoder(tiny_bert, cache_dir=False, progress=False, max_length=32, device="cpu")
    got = enc.encode(texts, ["mean", "cls", f"chunk:size={SIZE},agg=max", f"chunk:size={SIZE},pool=cls,agg=mean",
                             f"late:size={SIZE},agg=max", f"late:size={SIZE},agg=mean"])
    e = got.embeddings
    for name in (f"chunk:size={SIZE},pool=mean,agg=max", f"late:size={SIZE},pool=mean,agg=max",
                 f"late:size={SIZE},pool=mean,agg=mean"):
        np.testing.assert_allclose(e[name], e["mean"], atol=1e-6, err_msg=name)
    np.testing.assert_allclose(e[f"chunk:size={SIZE},pool=cls,agg=mean"], e["cls"], atol=1e-6)


def test_strategy_specs_roles_and_bad_sizes(tiny_bert):
    p = make_pooling("chunk:size=256,pool=cls,agg=max")
    assert p.spec_for("query") == "cls" and p.spec_for("document") == str(p.spec)
    assert p.spec_for("single") == "chunk:size=256,pool=cls,agg=mean"
    assert make_pooling("late").spec_for("single") == "late:size=256,pool=mean,agg=mean"
    with pytest.raises(LmkbenchError, match="pool"):
        make_pooling("late:pool=cls")
    enc = PooledEncoder(tiny_bert, cache_dir=False, progress=False, max_length=16, device="cpu")
    with pytest.raises(LmkbenchError, match="exceeds the max length"):
        enc.encode(["a b c"], ["chunk:size=32"])
    with pytest.raises(LmkbenchError, match="no room"):
        enc.encode(["a b c"], ["chunk:size=2"])


def test_run_with_strategies_records_their_cost(tiny_bert, tiny_beir, tmp_path):
    from lmkbench.cli import main
    from lmkbench.results import iter_results

    pools = "mean,chunk:size=16,pool=mean,agg=max,late:size=16,agg=mean"
    assert main(["run", "--model", tiny_bert, "--pooling", pools, "--task", f"beir:{tiny_beir}", "--max-length", "32",
                 "--long", "windows", "--device", "cpu", "--quiet", "--no-cache", "--out", str(tmp_path)]) == 0
    res = {r.pooling: r for r in iter_results(tmp_path)}
    assert set(res) == {"mean", "chunk:size=16,pool=mean,agg=max", "late:size=16,pool=mean,agg=mean"}
    maxp = res["chunk:size=16,pool=mean,agg=max"].meta.text_sets
    assert maxp["queries"]["encoded_as"] == "mean" and maxp["corpus"]["family"] == "chunk:size=16"
    assert maxp["corpus"]["vectors"] > maxp["corpus"]["texts"] and maxp["corpus"]["tokens_fed"] > 0
    late = res["late:size=16,pool=mean,agg=mean"].meta.text_sets["corpus"]
    assert late["vectors"] == late["texts"] and late["chunks"] > late["texts"] and late["family"] == "plain"
    # queries are encoded with the inner pooling: identical to the mean cell's query side, so equal short docs
    assert res["mean"].items.keys() == res["chunk:size=16,pool=mean,agg=max"].items.keys()


@pytest.mark.slow
def test_one_vector_tasks_encode_maxp_as_the_chunk_mean(tiny_bert, tmp_path):
    """Clustering needs one vector per text: agg=max is encoded as agg=mean there (its own store key)."""
    from lmkbench.cli import main
    from lmkbench.results import iter_results

    assert main(["run", "--model", tiny_bert, "--pooling", "chunk:size=64,agg=max", "--task", "bbc_clustering",
                 "--max-length", "64", "--device", "cpu", "--quiet", "--no-cache", "--out", str(tmp_path)]) == 0
    (rec,) = list(iter_results(tmp_path))
    assert rec.pooling == "chunk:size=64,pool=mean,agg=max"
    (used,) = rec.meta.text_sets.values()
    assert used["encoded_as"] == "chunk:size=64,pool=mean,agg=mean" and used["vectors"] == used["texts"]
    assert used["chunks"] > used["texts"]
