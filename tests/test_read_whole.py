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


#: the default suite's synthetic families: the extended variant reads some of them whole (passkey, for the demo's
#: time); max_length: whole must read any of them whole
FAMILIES = ("passkey_*", "needle_*")


@pytest.fixture(scope="module")
def synthetic_docs(minilm_tokenizer):
    """The default suite's passkey and needle documents, tokenized as the encoder tokenizes them."""
    import fnmatch

    from lmkbench.encoder import content_ids
    from lmkbench.tasks import load_catalogue

    cat = load_catalogue()
    docs = {}
    for task in cat.suite_tasks("default"):
        if any(fnmatch.fnmatchcase(task.name, pat) for pat in FAMILIES):
            data = task.load(tokenizer=minilm_tokenizer)
            docs[task.name] = [np.asarray(ids) for _, ids, _ in
                          content_ids(minilm_tokenizer, [t for _, t in data.corpus.values()])]
    return docs


def _cut(docs, max_length: int, sp) -> dict[str, int]:
    """Documents cut per task × pooling at ``max_length``."""
    return {f"{task}/{p}": sum(make_pooling(p).family().build(Content(ids), sp, max_length, "truncate")[1]
                                    for ids in texts)
            for task, texts in docs.items() for p in POOLINGS}


def test_at_the_read_whole_setting_no_passkey_or_needle_document_is_cut(synthetic_docs, minilm_tokenizer):
    from lmkbench.suites import read_whole_length

    sp = SpecialTokens.from_tokenizer(minilm_tokenizer)
    from lmkbench.tasks import load_catalogue

    cat = load_catalogue()
    assert {t.split("_")[0] for t in synthetic_docs} == {"passkey", "needle"}
    whole = read_whole_length([cat.task(t) for t in synthetic_docs])
    assert not any(_cut(synthetic_docs, whole, sp).values())
    # the suite's extended variant asks exactly that length for its own tasks, and reads them whole too
    variant = _extended()
    mine = {t: d for t, d in synthetic_docs.items() if t in variant.tasks}
    assert mine and variant.settings.max_length == read_whole_length([cat.task(t) for t in mine])
    assert not any(_cut(mine, variant.settings.max_length, sp).values())
    # the old setting, max length = the documents' length, cut every longest document for every pooling, lmk most
    longest = max(len(ids) for docs in synthetic_docs.values() for ids in docs)
    lost = {p: longest - make_pooling(p).family().content_budget(longest, sp) for p in POOLINGS}
    assert all(lost.values()) and lost["lmk"] > lost["mean"]


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
