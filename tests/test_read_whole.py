""""Read whole" is whole: at the default suite's read-whole setting no passkey/needle document is cut for cls, mean
or lmk, every pooling has a content budget that covers the longest document, and results record that budget."""
from __future__ import annotations

import json

import numpy as np
import pytest

from lmkbench.inputs import Content, LandmarkFamily, MultiClsFamily, PlainFamily, SpecialTokens
from lmkbench.poolings import make_pooling
from lmkbench.settings import EncoderSettings
from lmkbench.suites import plan_runs

CLS, SEP = 101, 102
SP = SpecialTokens(cls=CLS, sep=SEP, pad=0, plain_prefix=(CLS,), plain_suffix=(SEP,))
POOLINGS = ("cls", "mean", "lmk")


@pytest.mark.parametrize("family", [PlainFamily(), LandmarkFamily(g=32), LandmarkFamily(g=5), MultiClsFamily(g=7)],
                         ids=lambda f: f.key)
@pytest.mark.parametrize("max_length", [4, 33, 64, 257, 4096])
def test_the_content_budget_is_exactly_what_build_reads_whole(family, max_length):
    budget = family.content_budget(max_length, SP)
    (_, fits), (_, over) = (family.build(Content(np.arange(1, n + 1)), SP, max_length, "truncate")
                            for n in (budget, budget + 1))
    assert not fits and over


def _extended(poolings=None):
    (variant,) = [r for r in plan_runs(["suite:default"], EncoderSettings(), poolings=poolings) if r.variant]
    return variant


@pytest.fixture(scope="module")
def synthetic_docs(minilm_tokenizer):
    """The extended variant's passkey and needle documents, tokenized as the encoder tokenizes them."""
    from lmkbench.encoder import content_ids
    from lmkbench.tasks import load_catalogue

    cat = load_catalogue()
    docs = {}
    for name in _extended().tasks:
        data = cat.task(name).load(tokenizer=minilm_tokenizer)
        docs[name] = [np.asarray(ids) for _, ids, _ in content_ids(minilm_tokenizer, [t for _, t in data.corpus.values()])]
    return docs


def test_at_the_read_whole_setting_no_synthetic_document_is_cut(synthetic_docs, minilm_tokenizer):
    variant = _extended()
    assert variant.tasks and {t.split("_")[0] for t in variant.tasks} <= {"passkey", "needle"}
    sp = SpecialTokens.from_tokenizer(minilm_tokenizer)
    longest = max(len(ids) for docs in synthetic_docs.values() for ids in docs)
    for pooling in POOLINGS:
        family = make_pooling(pooling).family()
        assert family.content_budget(variant.settings.max_length, sp) >= longest, pooling
        for task, docs in synthetic_docs.items():
            cut = [family.build(Content(ids), sp, variant.settings.max_length, "truncate")[1] for ids in docs]
            assert not any(cut), f"{task}/{pooling}: {sum(cut)} of {len(cut)} documents cut"
    # the old setting, max length = the documents' length, cut every longest document for every pooling
    for pooling in POOLINGS:
        family = make_pooling(pooling).family()
        assert family.content_budget(longest, sp) < longest


def test_the_read_whole_length_covers_a_larger_pooling_overhead_asked_for():
    assert _extended(["lmk:g=8"]).settings.max_length > _extended().settings.max_length


def test_results_record_each_poolings_content_budget(tiny_bert, tiny_beir, tmp_path):
    from lmkbench.runner import Runner, RunSettings

    settings = EncoderSettings(cache_dir=False, device="cpu", max_length=64)
    Runner(RunSettings(tiny_bert, list(POOLINGS), tmp_path, encoder=settings, progress=False),
           log=lambda _: None).run([f"beir:{tiny_beir}"])
    names = {str(make_pooling(p).spec): p for p in POOLINGS}
    budgets = {}
    for path in tmp_path.rglob("*.json"):
        rec = json.loads(path.read_text())
        if isinstance(rec, dict) and rec.get("pooling") in names:
            budgets[names[rec["pooling"]]] = rec["meta"]["content_budget"]
    # MiniLM's framing: [CLS] … [SEP] for the plain family; lmk adds one landmark per 32 content tokens
    assert budgets == {"cls": 64 - 2, "mean": 64 - 2, "lmk": LandmarkFamily(g=32).content_budget(64, SP)}
    assert budgets["lmk"] < budgets["mean"]
