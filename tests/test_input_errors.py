"""Bad input ends in one InputError naming file, line and field — never another exception (incl. a fuzz test)."""
from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lmkbench.cli import main
from lmkbench.data.beir import load_beir_folder
from lmkbench.data.labelled import load_labelled_jsonl
from lmkbench.errors import InputError


def _gzip_corpus(folder: Path) -> Path:
    src = folder / "corpus.jsonl"
    dst = folder / "corpus.jsonl.gz"
    dst.write_bytes(gzip.compress(src.read_bytes()))
    src.unlink()
    return dst


def test_truncated_gzip_corpus_names_the_file(tiny_beir):
    gz = _gzip_corpus(tiny_beir)
    gz.write_bytes(gz.read_bytes()[:-30])
    with pytest.raises(InputError, match=r"corpus\.jsonl\.gz:\d+: truncated or corrupt gzip"):
        load_beir_folder(tiny_beir)


def test_corrupt_gzip_corpus_names_the_file(tiny_beir):
    gz = _gzip_corpus(tiny_beir)
    data = bytearray(gz.read_bytes())
    data[40:60] = b"\x00" * 20
    gz.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"corpus\.jsonl\.gz:\d+: .*(gzip|UTF-8|JSON)"):
        load_beir_folder(tiny_beir)


def test_invalid_utf8_names_file_and_line(tiny_beir):
    path = tiny_beir / "corpus.jsonl"
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b"This", b"Th\xff\xfes")
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(InputError, match=r"corpus\.jsonl:3: not valid UTF-8"):
        load_beir_folder(tiny_beir)


@pytest.mark.parametrize("score", ["inf", "nan", "-inf", "1e999"])
def test_qrels_score_that_is_not_finite(tiny_beir, score):
    path = tiny_beir / "qrels" / "test.tsv"
    path.write_text(path.read_text() + f"q1\td2\t{score}\n")
    with pytest.raises(InputError, match=r"test\.tsv:\d+: field 'score': not a finite number"):
        load_beir_folder(tiny_beir)


def test_null_text_is_an_error_and_null_title_means_none(tiny_beir):
    path = tiny_beir / "corpus.jsonl"
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    rows[1]["title"] = None
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert load_beir_folder(tiny_beir).doc_text(rows[1]["_id"]).startswith("This document")
    rows[3]["text"] = None
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(InputError, match=r"corpus\.jsonl:4: field 'text': null"):
        load_beir_folder(tiny_beir)


@pytest.mark.parametrize("which", ["corpus", "queries"])
def test_ids_with_white_space_are_rejected_at_load(tiny_beir, which):
    path = tiny_beir / f"{which}.jsonl"
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    rows[0]["_id"] = "has space"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(InputError, match=rf"{which}\.jsonl:1: field '_id': id 'has space' contains white space"):
        load_beir_folder(tiny_beir)


def test_malformed_json_message_reads_once(tiny_beir):
    path = tiny_beir / "queries.jsonl"
    path.write_text('{"_id": "q0", "text": "unterminated\n' + path.read_text())
    with pytest.raises(InputError) as exc:
        load_beir_folder(tiny_beir)
    assert "at at" not in str(exc.value) and "queries.jsonl:1" in str(exc.value)


def test_cli_reports_damage_in_one_line(tiny_beir, tiny_bert, tmp_path, capsys):
    gz = _gzip_corpus(tiny_beir)
    gz.write_bytes(gz.read_bytes()[:-30])
    rc = main(["run", "--model", tiny_bert, "--pooling", "mean", "--task", f"beir:{tiny_beir}", "--quiet",
               "--out", str(tmp_path / "o"), "--no-cache"])
    err = capsys.readouterr().err
    assert rc == 2 and "corpus.jsonl.gz" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------------------------------- fuzzing

def _damage(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    """Apply (kind, position, byte) edits: 0 = overwrite, 1 = delete, 2 = insert, 3 = truncate."""
    buf = bytearray(data)
    for kind, pos, byte in edits:
        if not buf:
            break
        pos %= len(buf)
        if kind == 0:
            buf[pos] = byte
        elif kind == 1:
            del buf[pos]
        elif kind == 2:
            buf.insert(pos, byte)
        else:
            del buf[pos:]
    return bytes(buf)


EDITS = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(edits=EDITS, target=st.sampled_from(["corpus.jsonl", "corpus.jsonl.gz", "queries.jsonl", "qrels/test.tsv"]))
def test_fuzzed_beir_folder_loads_or_raises_input_error(tiny_beir, tmp_path_factory, edits, target):
    folder = tmp_path_factory.mktemp("fuzz") / "beir"
    shutil.copytree(tiny_beir, folder)
    if target.endswith(".gz"):
        _gzip_corpus(folder)
    path = folder / target
    path.write_bytes(_damage(path.read_bytes(), edits))
    try:
        data = load_beir_folder(folder)
        list(data.doc_texts())          # the streamed second pass must hold up too
    except InputError:
        pass


@FUZZ
@given(edits=EDITS, gz=st.booleans())
def test_fuzzed_labelled_jsonl_loads_or_raises_input_error(tmp_path_factory, edits, gz):
    folder = tmp_path_factory.mktemp("fuzzl")
    rows = [{"id": f"r{i}", "text": f"text number {i} " * (i % 4 + 1), "label": ["a", "b", "c"][i % 3]}
            for i in range(30)]
    raw = ("\n".join(json.dumps(r) for r in rows) + "\n").encode()
    path = folder / ("data.jsonl.gz" if gz else "data.jsonl")
    path.write_bytes(_damage(gzip.compress(raw) if gz else raw, edits))
    try:
        load_labelled_jsonl(path)
    except InputError:
        pass


@pytest.mark.parametrize("kind, bad, hint", [("retrieval", "kk", "k"), ("classification", "n_experiment", "n_experiments"),
                                             ("clustering", "n_run", "n_runs")])
def test_misspelled_evaluator_options_are_errors_everywhere(kind, bad, hint):
    from lmkbench.errors import LmkbenchError
    from lmkbench.evaluate import evaluator_for

    with pytest.raises(LmkbenchError, match=rf"evaluator '{kind}' has no option '{bad}' \(did you mean '{hint}'\?\)"):
        evaluator_for(kind, **{bad: 10})


# ---------------------------------------------------------------------------------------- fuzzing result files

def _result_json() -> dict:
    from lmkbench.results import ResultMeta, ResultRecord

    return ResultRecord(task="t", model="m", pooling="mean", main_metric="ndcg_at_10", task_kind="retrieval",
                        metrics={"ndcg_at_10": 0.5}, item_table="per_query",
                        items={"q1": {"ndcg_at_10": 0.25, "length": 3, "lengths": [3, 2]},
                               "q2": {"ndcg_at_10": 0.75, "length": 9, "lengths": [9]}},
                        meta=ResultMeta.of({"max_length": 128, "dataset_checksums": {"a": "b"}})).to_json()


def _read_folder_or_input_error(folder: Path, raw: bytes) -> None:
    """``folder`` holds one file, ``raw``: a result in it is read (never skipped in silence) with finite,
    testable scores, or reading stops with an InputError."""
    import math

    from lmkbench.results import SCHEMA, iter_results

    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        data = None
    try:
        records = list(iter_results(folder))
        for rec in records:
            scores = rec.scores(rec.items, rec.item_metric())
            assert not any(math.isinf(s) for s in scores)
    except InputError:
        return
    if isinstance(data, dict) and data.get("schema") == SCHEMA:
        assert len(records) == 1, "a result file was passed over without a word"


@FUZZ
@given(edits=EDITS, encoding=st.sampled_from(["utf-8", "utf-16", "utf-8-sig"]), indent=st.sampled_from([None, 1]))
def test_fuzzed_result_file_reads_or_raises_input_error(tmp_path_factory, edits, encoding, indent):
    folder = tmp_path_factory.mktemp("fuzzr")
    raw = _damage(json.dumps(_result_json(), indent=indent, sort_keys=indent is None).encode(encoding), edits)
    (folder / "r.json").write_bytes(raw)
    _read_folder_or_input_error(folder, raw)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.sampled_from([float("inf"), float("-inf")])
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8)
RESULT_FIELDS = [("schema",), ("task",), ("main_metric",), ("per_item_metric",), ("greater_is_better",), ("metrics",),
                 ("metrics", "ndcg_at_10"), ("per_query",), ("per_query", "q1"), ("per_query", "q1", "ndcg_at_10"),
                 ("per_query", "q2", "lengths"), ("meta",), ("meta", "max_length"), ("meta", "dataset_checksums")]


@FUZZ
@given(where=st.sampled_from(RESULT_FIELDS), value=JSON_VALUES)
def test_a_result_with_any_json_in_a_field_reads_or_raises_input_error(tmp_path_factory, where, value):
    folder = tmp_path_factory.mktemp("fuzzv")
    data = _result_json()
    node = data
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    raw = json.dumps(data).encode()
    (folder / "r.json").write_bytes(raw)
    _read_folder_or_input_error(folder, raw)


ANY_TEXT = st.lists(st.sampled_from(["\ud800", "\udfff", "\ud83d", "\U0001F600", "\ufeff", "a", " "]) | st.characters(),
                    max_size=8).map("".join)          # lone surrogates, which st.text() rarely draws


@FUZZ
@given(target=st.sampled_from(["corpus.jsonl", "queries.jsonl"]), field=st.sampled_from(["_id", "text", "title"]),
       value=ANY_TEXT)
def test_any_text_in_a_beir_row_loads_as_utf8_or_raises_input_error(tiny_beir, tmp_path_factory, target, field, value):
    folder = tmp_path_factory.mktemp("fuzzt") / "beir"
    shutil.copytree(tiny_beir, folder)
    path = folder / target
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    rows[0][field] = value
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))        # json.dumps escapes a surrogate
    try:
        data = load_beir_folder(folder)
    except InputError:
        return
    for text in [*data.doc_texts(), *data.queries.values(), *data.doc_ids(), *data.queries]:
        text.encode("utf-8")
