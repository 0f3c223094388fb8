"""The one parameter schema (lmkbench.params) behind poolings, strategies, BM25, task loaders, evaluators and metrics."""
from __future__ import annotations

from pathlib import Path

import pytest

from lmkbench.bm25 import SYSTEMS, parse_system
from lmkbench.errors import InputError, LmkbenchError
from lmkbench.evaluate import EVALUATORS, evaluator_for
from lmkbench.metrics import METRICS, parse_metric
from lmkbench.params import REQUIRED, Location, Param, Schema, to_bool, to_float, to_int, to_str
from lmkbench.poolings import POOLINGS, parse_pooling
from lmkbench.tasks.catalogue import read_task_file
from lmkbench.tasks.loaders import BBC_KEY, BbcLoader, BbcSource, NeedleLoader
from lmkbench.tasks.registry import LOADERS

SCHEMA = Schema({"n": Param(to_int, 3, "count", ge=1), "name": Param(to_str, REQUIRED, "a name"),
                 "frac": Param(to_float, 0.5, "share", gt=0, le=1, nullable=True),
                 "mode": Param(to_str, "a", "mode", choices=("a", "b")), "flag": Param(to_bool, False)},
                owner="thing 'x'")


def test_schema_fills_defaults_and_converts_yaml_values_and_spec_strings():
    assert SCHEMA.check({"name": "z"}) == {"n": 3, "name": "z", "frac": 0.5, "mode": "a", "flag": False}
    assert SCHEMA.check({"name": "z", "n": "7", "frac": "1", "flag": "yes"}) == \
        {"n": 7, "name": "z", "frac": 1.0, "mode": "a", "flag": True}
    assert SCHEMA.check({"name": "z", "n": 7.0, "frac": None, "mode": None})["frac"] is None   # nullable: None kept
    assert SCHEMA.check({"name": "z", "mode": None})["mode"] == "a"                            # else None = default


@pytest.mark.parametrize("given, message", [
    ({"name": "z", "nn": 2}, r"thing 'x' has no parameter 'nn' \(did you mean 'n'\?\) \(known: n, name, frac, mode, flag\)"),
    ({"name": "z", "fleg": 1, "zzz": 2}, r"has no parameters 'fleg' \(did you mean 'flag'\?\), 'zzz' \(known"),
    ({}, r"thing 'x' needs parameter 'name' \(a name\)"),
    ({"name": "z", "n": 0}, r"bad value for 'n': must be >= 1, got 0"),
    ({"name": "z", "n": True}, r"bad value for 'n': expected an integer"),
    ({"name": "z", "n": 2.5}, r"bad value for 'n': expected an integer"),
    ({"name": "z", "frac": 0}, r"bad value for 'frac': must be > 0"),
    ({"name": "z", "frac": 1.5}, r"bad value for 'frac': must be <= 1"),
    ({"name": "z", "mode": "c"}, r"bad value for 'mode': must be one of a, b, got 'c'"),
    ({"name": "z", "flag": "maybe"}, r"bad value for 'flag': not a boolean"),
])
def test_schema_errors(given, message):
    with pytest.raises(LmkbenchError, match=message):
        SCHEMA.check(given)


def test_a_location_makes_the_error_an_input_error_with_file_line_and_field():
    with pytest.raises(InputError) as info:
        SCHEMA.check({"name": "z", "nn": 1}, Location("t.yaml", 7, "params"))
    assert (info.value.file, info.value.line, info.value.field) == ("t.yaml", 7, "params.nn")
    assert str(info.value).startswith("t.yaml:7: field 'params.nn': thing 'x' has no parameter 'nn' (did you mean 'n'?)")


def test_every_registered_thing_declares_its_params_through_the_same_schema():
    registries = {"pooling": POOLINGS, "lexical system": SYSTEMS, "task loader": LOADERS, "evaluator": EVALUATORS,
                  "metric": METRICS}
    seen = set()
    for kind, registry in registries.items():
        entries = list(registry)
        assert entries, kind
        for e in entries:
            assert type(e.schema) is Schema and e.schema is registry.schema(e.name) and e.params is e.schema
            assert e.schema.owner == f"{kind} {e.name!r}"
            assert all(type(p) is Param for p in e.schema.values())
            seen.add((kind, e.name))
    assert {("pooling", "lmk"), ("pooling", "chunk"), ("lexical system", "bm25"), ("task loader", "mteb"),
            ("task loader", "needle"), ("evaluator", "clustering"), ("metric", "ndcg")} <= seen
    assert list(METRICS.schema("ndcg")) == ["k"] and METRICS.schema("ndcg")["k"].required


@pytest.mark.parametrize("call, message", [
    (lambda: parse_pooling("lmk:gg=4"), r"pooling 'lmk' has no parameter 'gg' \(did you mean 'g'\?\) \(known: g, split\)"),
    (lambda: parse_pooling("lmkk"), r"unknown pooling 'lmkk' \(did you mean 'lmk'\?\)"),
    (lambda: parse_pooling("chunk:agregate=max"), r"pooling 'chunk' has no parameter 'agregate'"),
    (lambda: parse_system("bm25:k=1"), r"lexical system 'bm25' has no parameter 'k' \(did you mean 'k1'\?\)"),
    # declared bounds replace the hand checks
    (lambda: parse_pooling("lmk:g=0"), r"pooling 'lmk': bad value for 'g': must be >= 1"),
    (lambda: parse_pooling("mean_every:k=0"), r"'k': must be >= 1"),
    (lambda: parse_pooling("chunk:size=1"), r"'size': must be >= 2"),
    # metric names are declared, with a positive k
    (lambda: parse_metric("ndcgg@10"), r"unknown metric 'ndcgg@10' \(did you mean 'ndcg'\?\) \(known: .*ndcg@k"),
    (lambda: parse_metric("recall@0"), r"metric 'recall': bad value for 'k': must be >= 1, got 0"),
    (lambda: parse_metric("mrr"), r"metric 'mrr' needs parameter 'k'"),
    # evaluators declare their options
    (lambda: evaluator_for("retrieval", kk=10), r"evaluator 'retrieval' has no option 'kk' \(did you mean 'k'\?\)"),
    (lambda: evaluator_for("retrieval", k=0), r"evaluator 'retrieval': bad value for 'k': must be >= 1"),
    (lambda: evaluator_for("retrieval", metrics=["ndcgg@10"]), r"unknown metric 'ndcgg@10' \(did you mean 'ndcg'\?\)"),
    (lambda: evaluator_for("retreival"), r"unknown evaluator 'retreival' \(did you mean 'retrieval'\?\)"),
    (lambda: evaluator_for("clustering", bootstrap_fraction=0), r"'bootstrap_fraction': must be > 0"),
])
def test_misspellings_and_bad_values_name_what_is_known(call, message):
    with pytest.raises(LmkbenchError, match=message):
        call()


def test_canonical_spec_strings_are_unchanged():
    assert [str(parse_pooling(s)) for s in ("lmk", "lmk:g=64", "lmk:g=64,split=sentence", "mean_every", "chunk")] == \
        ["lmk:g=32", "lmk:g=64", "lmk:split=sentence", "mean_every:k=64", "chunk:size=256,pool=mean,agg=max"]
    assert str(parse_system("bm25:k1=1")) == "bm25:method=lucene,k1=1.0,b=0.75,stopwords=en,stemmer=english"


def test_metric_syntaxes_and_evaluator_options_convert():
    assert str(parse_metric(" nDCG@10 ")) == "ndcg@10" and parse_metric("ndcg_at_10").key == "ndcg_at_10"
    assert parse_metric("Recall_AT_100") == parse_metric("recall@100")
    ev = evaluator_for("retrieval", k="10", metrics="ndcg@10,recall@100")
    assert ev.k == 10 and [str(m) for m in ev.metrics] == ["ndcg@10", "recall@100"]
    ev = evaluator_for("classification", samples_per_label=None, n_experiments="3")
    assert ev.samples_per_label is None and ev.n_experiments == 3
    assert ev.options == {"n_experiments": 3, "samples_per_label": None, "train_split": "train", "max_iter": 100,
                          "seed": 42}


def test_misspelled_loader_param_in_a_task_file_names_file_line_and_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("tasks:\n  - {name: a, loader: beir, group: short-retrieval, params: {path: x, splitt: dev}}\n")
    with pytest.raises(InputError) as info:
        read_task_file(path)
    text = str(info.value)
    assert f"{path}:2" in text and "field 'params.splitt'" in text and info.value.field == "params.splitt"
    assert "loader 'beir' has no parameter 'splitt' (did you mean 'split'?) (known: path, split)" in text
    with pytest.raises(InputError) as info:
        BbcLoader.validate({"veiw": "clustering"}, Location(path, 4, "params"))
    assert (info.value.line, info.value.field) == (4, "params.veiw") and "did you mean 'view'?" in str(info.value)


def test_loaders_module_does_not_import_remote_and_the_registry_is_complete():
    import ast

    import lmkbench.tasks.loaders as loaders
    from lmkbench.tasks import registry

    tree = ast.parse(Path(loaders.__file__).read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {"remote", "registry", "catalogue"} & imported     # no cycle back into the task package
    assert registry.loader_class("mteb").name == "mteb"
    assert {"beir", "beir-download", "mteb", "labelled", "passkey", "needle", "bbc"} <= set(registry.LOADERS.names())


def test_needle_and_bbc_share_the_bbc_source_mixin(tmp_path):
    assert issubclass(NeedleLoader, BbcSource) and issubclass(BbcLoader, BbcSource)
    folder = tmp_path / "bbc"
    folder.mkdir()
    needle = NeedleLoader(length=64, haystack_path=str(folder))
    assert needle.sources() == {BBC_KEY: folder} and needle.availability() == ("yes", "")
    essays = tmp_path / "essays.jsonl"
    pg = NeedleLoader(length=64, haystack="paul_graham", haystack_path=str(essays))
    assert pg.sources() == {"essays.jsonl": essays} and pg.availability()[0] == "no"
    essays.write_text("{}\n")
    assert pg.availability() == ("yes", "") and len(pg.digest("essays.jsonl", essays)) == 64
