"""Training pooling specs: train_g parsing, canonical strings, and seeded variable-interval draws."""
from __future__ import annotations

import numpy as np
import pytest

from lmkbench.errors import LmkbenchError
from lmkbench.inputs import LandmarkFamily
from lmkbench.train.spec import parse_train_pooling, parse_train_poolings
from lmkbench.train.trainer import BatchPlan


@pytest.mark.parametrize("text", ["lmk:train_g=32+64+128+256", "lmk:train_g=32,64,128,256",
                                  "lmk:train_g=256+32+64+128+64"])
def test_train_g_forms_parse_to_one_canonical_spec(text):
    tp = parse_train_pooling(text)
    assert tp.eval_spec == "lmk:g=32"          # evaluated with the registry's default g (the paper's best)
    assert tp.train_g == (32, 64, 128, 256)
    assert tp.spec == "lmk:g=32,train_g=32+64+128+256"
    assert parse_train_pooling(tp.spec).spec == tp.spec


def test_explicit_eval_g_and_plain_poolings():
    assert parse_train_pooling("lmk:g=64,train_g=64+128").eval_spec == "lmk:g=64"
    assert parse_train_pooling("mean").spec == "mean" and not parse_train_pooling("mean").variable
    assert parse_train_pooling("lmk").spec == "lmk:g=32"


def test_list_of_training_poolings_splits_at_registered_names():
    specs = [tp.spec for tp in parse_train_poolings("cls,mean,lmk:train_g=32,64,128,256,multicls:g=16")]
    assert specs == ["cls", "mean", "lmk:g=32,train_g=32+64+128+256", "multicls:g=16"]


@pytest.mark.parametrize("text,msg", [("mean:train_g=32", "fixed-chunk"), ("lmk:split=sentence,train_g=8", "fixed-chunk"),
                                      ("lmk:train_g=a+b", "integers"), ("lmk:train_g=0+4", ">= 1"),
                                      ("nosuch", "unknown pooling")])
def test_bad_training_specs(text, msg):
    with pytest.raises(LmkbenchError, match=msg):
        parse_train_pooling(text)


def test_variable_draws_are_seeded_within_the_set_and_cover_it():
    tp = parse_train_pooling("lmk:train_g=32+64+128+256")
    plan = BatchPlan(100, 10, seed=3)
    fams_a, g_a = tp.train_families(400, plan.interval_rng(5))
    fams_b, g_b = tp.train_families(400, BatchPlan(100, 10, seed=3).interval_rng(5))
    assert g_a == g_b                                   # same seed and step: same draws
    assert set(g_a) == {32, 64, 128, 256}               # every value drawn, nothing outside the set
    assert all(isinstance(f, LandmarkFamily) and f.g == g for f, g in zip(fams_a, g_a))
    _, g_other_step = tp.train_families(400, plan.interval_rng(6))
    _, g_other_seed = tp.train_families(400, BatchPlan(100, 10, seed=4).interval_rng(5))
    assert g_other_step != g_a and g_other_seed != g_a
    counts = np.bincount([{32: 0, 64: 1, 128: 2, 256: 3}[g] for g in g_a], minlength=4)
    assert counts.min() > 60                            # roughly uniform (expected 100 each)


def test_fixed_pooling_uses_the_evaluation_family():
    tp = parse_train_pooling("lmk:g=16")
    fams, gs = tp.train_families(5, np.random.default_rng(0))
    assert gs == [16] * 5 and fams[0].key == "lmk:g=16"


def test_batch_plan_is_a_function_of_seed_and_step():
    a, b = BatchPlan(10, 4, seed=1), BatchPlan(10, 4, seed=1)
    seq_a = [a.indices(s) for s in range(7)]
    seq_b = [b.indices(s) for s in reversed(range(7))][::-1]   # any visiting order gives the same batches
    assert seq_a == seq_b
    assert a.per_epoch == 2 and all(len(x) == 4 for x in seq_a)
    first_epoch = seq_a[0] + seq_a[1]
    assert len(set(first_epoch)) == 8                   # no example twice within an epoch
    with pytest.raises(LmkbenchError, match="larger than"):
        BatchPlan(3, 4, seed=0)
