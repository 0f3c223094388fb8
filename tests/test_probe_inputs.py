"""The probe's input-side failures (issue 20 items 4, 5, 6, 8, 9, 10 and input tracebacks): each case here
failed on the code before its fix — a crash, a silent wrong number, a hang or a traceback."""
from __future__ import annotations

import json
import math
import os
import signal
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from lmkbench.bm25 import BM25, parse_system
from lmkbench.cli import main
from lmkbench.data.beir import load_beir_folder
from lmkbench.data.labelled import load_labelled_jsonl
from lmkbench.errors import InputError, LmkbenchError
from lmkbench.evidence import evidence_depth
from lmkbench.results import ResultRecord, iter_results, load_results, read_result

TOKENLESS = ["", "to be or not to be", "?! ... ;-)"]


def _write_jsonl(path: Path, rows) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


@contextmanager
def _no_hang(seconds: int = 10):
    """Fail (instead of hanging the suite) when the code under test blocks, e.g. reading a FIFO."""
    def boom(*_):
        raise TimeoutError(f"blocked for {seconds} s")
    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# ------------------------------------------------------------------ 4. queries without BM25 tokens
@pytest.mark.parametrize("query", TOKENLESS)
def test_bm25_query_without_tokens_scores_zero(query):
    index = BM25().index(["The cat sat on the mat.", "Dogs chase cats.", ""])
    assert index.scores(query).tolist() == [0.0, 0.0, 0.0]
    s, i = index.top_k([query, "cat"], k=2)
    assert s[0].tolist() == [0.0, 0.0] and s[1, 0] > 0


def test_bm25_index_without_any_token_scores_zero():
    index = BM25().index(["to be or not to be", "", "!!"])
    assert index.scores("cat").tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("query", TOKENLESS)
def test_evidence_depth_is_none_for_a_query_without_tokens(query):
    long_doc = " ".join(f"word{i}" for i in range(300))
    assert evidence_depth(query, long_doc) is None
    assert evidence_depth(query, "a short document about cats") is None
    assert evidence_depth("cats", "to be or not to be") is None          # a document of stop words only


def test_run_bm25_scores_tokenless_queries_zero_and_counts_them(tiny_beir, tmp_path):
    queries = _rows(tiny_beir / "queries.jsonl")
    extra = {"qs": TOKENLESS[1], "qe": TOKENLESS[0], "qp": TOKENLESS[2]}
    _write_jsonl(tiny_beir / "queries.jsonl", queries + [{"_id": q, "text": t} for q, t in extra.items()])
    with open(tiny_beir / "qrels" / "test.tsv", "a") as fh:
        fh.writelines(f"{q}\td{i}\t1\n" for i, q in enumerate(extra))
    assert main(["run", "--model", "bm25", "--task", f"beir:{tiny_beir}", "--out", str(tmp_path), "--quiet"]) == 0
    (rec,) = iter_results(tmp_path)
    for q in extra:
        assert rec.items[q]["ndcg_at_10"] == 0.0 and rec.items[q]["evidence_depth"] is None
    assert rec.metrics["ndcg_at_10"] == pytest.approx(np.mean([v["ndcg_at_10"] for v in rec.items.values()]))
    assert len(rec.items) == 11


# ------------------------------------------------------------------ 5. nothing to evaluate
@pytest.mark.parametrize("qrels", ["", "query-id\tcorpus-id\tscore\n", "query-id\tcorpus-id\tscore\nq0\td0\t0\nq1\td1\t0\n"],
                         ids=["empty", "header-only", "all-zero"])
def test_a_task_without_evaluable_queries_is_an_error_naming_the_qrels(tiny_beir, tmp_path, capsys, qrels):
    (tiny_beir / "qrels" / "test.tsv").write_text(qrels)
    with pytest.raises(InputError, match=r"qrels/test\.tsv: .*nothing to evaluate"):
        load_beir_folder(tiny_beir)
    assert main(["run", "--model", "bm25", "--task", f"beir:{tiny_beir}", "--out", str(tmp_path), "--quiet"]) == 2
    assert "test.tsv" in capsys.readouterr().err
    assert not list(tmp_path.rglob("*.json"))


def test_the_retrieval_evaluator_refuses_data_without_evaluable_queries():
    from lmkbench.data.types import RetrievalData
    from lmkbench.evaluate import evaluator_for

    data = RetrievalData(name="t", split="test", corpus={"d": ("", "x")}, queries={"q": "x"},
                         qrels={"q": {"d": 0}}, source="mem:t")
    with pytest.raises(LmkbenchError, match=r"mem:t.*no query has a relevant document"):
        evaluator_for("retrieval").text_sets(data)


# ------------------------------------------------------------------ 6. every *.json candidate read properly
def _record(task="t", pooling="mean", per_query=None) -> dict:
    return ResultRecord(task=task, model="m", pooling=pooling, main_metric="ndcg_at_10", task_kind="retrieval",
                        metrics={"ndcg_at_10": 0.5}, item_table="per_query",
                        items=per_query or {"q1": {"ndcg_at_10": 0.25, "length": 3},
                                            "q2": {"ndcg_at_10": 0.75, "length": 9}}).to_json()


def test_results_with_sorted_keys_or_utf16_are_read(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(_record(pooling="a"), sort_keys=True))        # "schema" last
    (tmp_path / "b.json").write_text(json.dumps(_record(pooling="b"), indent=4), encoding="utf-16")
    (tmp_path / "c.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(_record(pooling="c")).encode())  # UTF-8 BOM
    assert [r.pooling for r in iter_results(tmp_path)] == ["a", "b", "c"]
    assert read_result(tmp_path / "b.json").metrics == {"ndcg_at_10": 0.5}


def test_baseline_keeps_a_result_saved_with_sorted_keys(tmp_path):
    res = tmp_path / "res"
    res.mkdir()
    (res / "a.json").write_text(json.dumps(_record(pooling="mean")))
    (res / "b.json").write_text(json.dumps(_record(pooling="lmk:g=32"), sort_keys=True))
    assert main(["baseline", str(res), "-o", str(tmp_path / "base.json")]) == 0
    assert sorted(c["pooling"] for c in json.loads((tmp_path / "base.json").read_text())["cells"]) == ["lmk:g=32", "mean"]


@pytest.mark.parametrize("content, why", [(b"", "empty"), (b"  \n", "empty"), (b'{"schema": "lmkbench.res', "malformed JSON"),
                                          (b"\xff\xfe\x00\xd8garbage", "not UTF-8"),
                                          (b"[" * 100_000 + b"]" * 100_000, "nested too deeply")])
@pytest.mark.parametrize("command", ["compare", "report", "baseline"])
def test_an_unreadable_json_in_a_results_folder_is_one_error_naming_it(tmp_path, capsys, content, why, command):
    res = tmp_path / "res"
    res.mkdir()
    (res / "a.json").write_text(json.dumps(_record()))
    (res / "zz.json").write_bytes(content)
    with pytest.raises(InputError, match=rf"zz\.json.*{why}"):
        list(iter_results(res))
    out = ["-o", str(tmp_path / ("x.html" if command == "report" else "x.json"))] if command != "compare" else []
    assert main([command, str(res), *out]) == 2
    err = capsys.readouterr().err
    assert "zz.json" in err and why in err and "Traceback" not in err


def test_other_json_is_skipped_with_a_note_and_lmkbench_documents_quietly(tmp_path, caplog):
    (tmp_path / "a.json").write_text(json.dumps(_record()))
    (tmp_path / "comparison.json").write_text(json.dumps({"schema": "lmkbench.comparison/1", "tasks": []}))
    (tmp_path / "ranx-run.json").write_text(json.dumps({"q1": {"d1": 1.0}}))
    (tmp_path / ".lmkbench-store-x").mkdir()
    (tmp_path / ".lmkbench-store-x" / "key.json").write_text("{}")       # a store's temporary folder: hidden
    (tmp_path / "dir.json").mkdir()                                       # a folder is not a candidate
    with caplog.at_level("WARNING", logger="lmkbench.results"):
        assert [r.pooling for r in load_results(tmp_path)] == ["mean"]
    assert "ranx-run.json" in caplog.text and "not lmkbench results" in caplog.text
    assert "comparison.json" not in caplog.text and "key.json" not in caplog.text


def test_a_result_of_another_version_is_an_error(tmp_path):
    rec = _record()
    rec["schema"] = "lmkbench.result/2"
    (tmp_path / "a.json").write_text(json.dumps(rec))
    with pytest.raises(InputError, match=r"a\.json: field 'schema': .*lmkbench\.result/2"):
        list(iter_results(tmp_path))


def test_a_fifo_in_a_results_folder_does_not_hang(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(_record()))
    os.mkfifo(tmp_path / "b.json")
    with _no_hang(), pytest.raises(InputError, match=r"b\.json: not a regular file"):
        list(iter_results(tmp_path))


# ------------------------------------------------------------------ 8. ±inf per item
@pytest.mark.parametrize("bad", [math.inf, -math.inf])
def test_an_infinite_per_query_score_is_an_error_naming_the_field(tmp_path, bad):
    rec = _record(per_query={"q1": {"ndcg_at_10": 0.25}, "q17": {"ndcg_at_10": 0.5}})
    rec["per_query"]["q17"]["ndcg_at_10"] = bad      # after to_json, whose json_safe would make it null
    path = tmp_path / "r.json"
    path.write_text(json.dumps(rec))                 # Python writes Infinity / -Infinity
    with pytest.raises(InputError, match=r"r\.json: field 'per_query\.q17\.ndcg_at_10': not a finite number"):
        read_result(path)
    path.write_text(json.dumps(rec).replace("Infinity", "1e999"))
    with pytest.raises(InputError, match=r"field 'per_query\.q17\.ndcg_at_10'"):
        read_result(path)


def test_nan_and_null_per_item_keep_their_meaning_not_scored(tmp_path):
    rec = _record(per_query={"q1": {"ndcg_at_10": 0.25}, "q2": {"ndcg_at_10": None}})
    path = tmp_path / "r.json"
    path.write_text(json.dumps(rec).replace('"ndcg_at_10": null', '"ndcg_at_10": NaN'))
    got = read_result(path).scores(["q1", "q2"], "ndcg_at_10")
    assert got[0] == 0.25 and math.isnan(got[1])


def test_an_infinite_metric_is_an_error(tmp_path):
    rec = _record()
    rec["metrics"]["ndcg_at_10"] = math.inf
    (tmp_path / "r.json").write_text(json.dumps(rec))
    with pytest.raises(InputError, match=r"field 'metrics\.ndcg_at_10': not a finite number"):
        read_result(tmp_path / "r.json")


# ------------------------------------------------------------------ 9. ranges, repeats, duplicates, BOM
@pytest.mark.parametrize("spec, key", [("bm25:k1=-1", "k1"), ("bm25:k1=nan", "k1"), ("bm25:k1=inf", "k1"),
                                       ("bm25:b=-3", "b"), ("bm25:b=1.5", "b"), ("bm25:b=nan", "b"), ("bm25:b=-inf", "b")])
def test_bm25_parameters_are_range_checked(spec, key):
    with pytest.raises(LmkbenchError, match=rf"bad value for '{key}'"):
        parse_system(spec)


def test_bm25_parameter_edges_are_accepted():
    assert parse_system("bm25:k1=0,b=0").get("k1") == 0.0 and parse_system("bm25:b=1").get("b") == 1.0


@pytest.mark.parametrize("text", ["lmk:g=32,g=64", "lmk:g=32,g=32", "cls,lmk:g=32,split=fixed,g=64"])
def test_a_repeated_spec_parameter_is_an_error(text):
    from lmkbench.poolings import POOLINGS

    with pytest.raises(LmkbenchError, match=r"'g' given twice"):
        POOLINGS.parse_list(text)


def test_a_conflicting_duplicate_qrels_line_names_both_lines(tiny_beir):
    path = tiny_beir / "qrels" / "test.tsv"
    path.write_text(path.read_text() + "q1\td1\t1\n")            # repeats line 3 exactly: fine
    assert load_beir_folder(tiny_beir).qrels["q1"] == {"d1": 1}
    path.write_text(path.read_text() + "q1\td1\t2\n")
    with pytest.raises(InputError, match=r"test\.tsv:12: field 'score': .*q1.*d1.*grade 1 on line 3"):
        load_beir_folder(tiny_beir)


def test_a_bom_in_qrels_and_jsonl_files_is_read(tiny_beir):
    for name in ("qrels/test.tsv", "corpus.jsonl", "queries.jsonl"):
        path = tiny_beir / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    data = load_beir_folder(tiny_beir)
    assert data.qrels["q0"] == {"d0": 1, "d1": 2} and "d0" in data.corpus and data.doc_text("d0").startswith("Solar")
    assert data.queries["q0"] == "what about solar power panels?"


# ------------------------------------------------------------------ 10. embed ids and texts
@pytest.mark.parametrize("bad_id", ["a\nb", "a\rb", "a\u2028b", ""])
def test_embed_rejects_ids_that_break_the_ids_file(tmp_path, capsys, bad_id):
    from lmkbench.commands.embed import read_rows

    src = tmp_path / "in.jsonl"
    _write_jsonl(src, [{"_id": "ok", "text": "x"}, {"_id": bad_id, "text": "y"}])
    with pytest.raises(InputError, match=r"in\.jsonl:2: field '_id'"):
        read_rows(src)
    assert main(["embed", "--model", "minilm", "--input", str(src), "--output", str(tmp_path / "o.npy")]) == 2
    assert "in.jsonl:2" in capsys.readouterr().err and not (tmp_path / "o.npy").exists()


def test_embed_txt_with_invalid_utf8_names_file_and_line(tmp_path, capsys):
    from lmkbench.commands.embed import read_rows

    src = tmp_path / "in.txt"
    src.write_bytes(b"first\r\nsecond\nbad \xff byte\n")
    with pytest.raises(InputError, match=r"in\.txt:3: not valid UTF-8"):
        read_rows(src)
    src.write_bytes(b"\xef\xbb\xbffirst\r\nsecond\n")
    assert read_rows(src) == (["1", "2"], ["first", "second"])


# ------------------------------------------------------------------ tracebacks: folders, FIFOs, surrogates
def _beir_target(tiny_beir, name) -> Path:
    return tiny_beir / name


@pytest.mark.parametrize("name", ["corpus.jsonl", "queries.jsonl", "qrels/test.tsv"])
@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_a_beir_file_that_is_a_folder_or_fifo_is_one_error(tiny_beir, name, kind):
    path = tiny_beir / name
    path.unlink()
    path.mkdir() if kind == "directory" else os.mkfifo(path)
    what = "is a folder" if kind == "directory" else "not a regular file"
    with _no_hang(), pytest.raises(InputError, match=rf"{name}: {what}"):
        load_beir_folder(tiny_beir)


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_labelled_and_embed_inputs_that_are_folders_or_fifos(tmp_path, kind):
    from lmkbench.commands.embed import read_rows

    for name, load in (("l.jsonl", load_labelled_jsonl), ("e.jsonl", read_rows), ("e.txt", read_rows)):
        path = tmp_path / name
        path.mkdir() if kind == "directory" else os.mkfifo(path)
        with _no_hang(), pytest.raises(InputError, match=rf"{name}: (is a folder|not a regular file)"):
            load(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_corpus_is_one_error(tiny_beir):
    (tiny_beir / "corpus.jsonl").chmod(0)
    with pytest.raises(InputError, match=r"corpus\.jsonl: cannot read"):
        load_beir_folder(tiny_beir)


@pytest.mark.parametrize("name, line, field", [("corpus.jsonl", 2, "_id"), ("corpus.jsonl", 3, "text"),
                                               ("corpus.jsonl", 4, "title"), ("queries.jsonl", 2, "text"),
                                               ("queries.jsonl", 5, "_id")])
def test_a_lone_surrogate_in_beir_data_names_file_line_and_field(tiny_beir, name, line, field):
    path = tiny_beir / name
    rows = _rows(path)
    rows[line - 1][field] = rows[line - 1][field] + "\ud800"
    _write_jsonl(path, rows)                            # json.dumps writes the escape "\ud800"
    with pytest.raises(InputError, match=rf"{name}:{line}: field '{field}': .*surrogate"):
        load_beir_folder(tiny_beir)


def test_a_surrogate_pair_is_fine(tiny_beir):
    path = tiny_beir / "queries.jsonl"
    rows = _rows(path)
    rows[0]["text"] += " \U0001F600"                    # written as the pair "\ud83d\ude00"
    _write_jsonl(path, rows)
    assert load_beir_folder(tiny_beir).queries["q0"].endswith("\U0001F600")


@pytest.mark.parametrize("field", ["text", "label", "_id"])
def test_a_lone_surrogate_in_labelled_data(tmp_path, field):
    rows = [{"_id": f"r{i}", "text": f"text {i}", "label": "ab"[i % 2]} for i in range(4)]
    rows[2][field] = "\udfff"
    _write_jsonl(tmp_path / "l.jsonl", rows)
    with pytest.raises(InputError, match=rf"l\.jsonl:3: field '{field}': .*surrogate"):
        load_labelled_jsonl(tmp_path / "l.jsonl")


def test_a_lone_surrogate_in_embed_input(tmp_path):
    from lmkbench.commands.embed import read_rows

    _write_jsonl(tmp_path / "e.jsonl", [{"text": "fine"}, {"text": "bad \ud800 text"}])
    with pytest.raises(InputError, match=r"e\.jsonl:2: field 'text': .*surrogate"):
        read_rows(tmp_path / "e.jsonl")


@pytest.mark.parametrize("damage", ["truncated safetensors", "corrupt pytorch_model.bin", "unknown architecture"])
def test_a_broken_model_folder_is_one_error(tiny_bert, tmp_path, damage):
    """A model folder lmkbench cannot load is one error naming it (exit 2), never a transformers traceback."""
    import json
    import shutil
    import subprocess
    import sys

    folder = tmp_path / "model"
    shutil.copytree(tiny_bert, folder)
    weights = folder / "model.safetensors"
    if damage == "truncated safetensors":
        data = weights.read_bytes()
        weights.write_bytes(data[: len(data) // 2])
    elif damage == "corrupt pytorch_model.bin":
        weights.unlink()
        (folder / "pytorch_model.bin").write_bytes(b"not a checkpoint" * 10)
    else:
        cfg = json.loads((folder / "config.json").read_text())
        cfg["model_type"] = "an_architecture_nobody_has"
        (folder / "config.json").write_text(json.dumps(cfg))
    src = tmp_path / "in.txt"
    src.write_text("one text\n")
    proc = subprocess.run([sys.executable, "-m", "lmkbench", "embed", "--model", str(folder), "--pooling", "mean",
                           "--input", str(src), "--output", str(tmp_path / "o.npy"), "--no-cache", "--quiet"],
                          capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "cannot load model" in proc.stderr and str(folder) in proc.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")
def test_every_line_reader_refuses_a_fifo_instead_of_hanging(tmp_path):
    """The check sits in io.read_lines, under every reader (training data, task loaders, the mteb adapter)."""
    from lmkbench.io import read_jsonl
    from lmkbench.train.data import load_training_data

    fifo = tmp_path / "pairs.jsonl"
    os.mkfifo(fifo)
    with _no_hang(), pytest.raises(InputError, match=r"pairs\.jsonl: not a regular file"):
        list(read_jsonl(fifo))
    with _no_hang(), pytest.raises(InputError, match=r"pairs\.jsonl: not a regular file"):
        load_training_data(str(fifo))
