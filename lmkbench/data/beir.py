"""BEIR-layout folders: ``corpus.jsonl[.gz]``, ``queries.jsonl[.gz]``, ``qrels/<split>.tsv``.

Reads the files itself (BEIR's ``GenericDataLoader`` reads neither ``.gz`` nor reports line numbers) and
checks them as it goes: every problem stops with one :class:`~lmkbench.errors.InputError` naming file,
line and field (a folder or FIFO in a file's place, a BOM, lone surrogates: :mod:`lmkbench.data.files`). Empty
document texts are allowed and counted (``info["empty_docs"]``). A task with nothing to evaluate (empty or
header-only qrels, or no grade above 0) is an error naming the qrels file, never a score of 0. The corpus is a
:class:`JsonlCorpus`: ids stay in memory, texts are streamed from the file when they are encoded.
"""
from __future__ import annotations

import csv
import math
from array import array
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io import read_lines, require_id, require_str, sha256_file
from .files import jsonl_rows, parse_row, regular_file, text_lines
from .ids import IdList, IdListBuilder
from .types import RetrievalData


def _find(folder: Path, stem: str) -> Path:
    for name in (f"{stem}.jsonl", f"{stem}.jsonl.gz"):
        if (folder / name).exists():
            return regular_file(folder / name, f"{stem} file")
    raise InputError(f"missing {stem}.jsonl (or {stem}.jsonl.gz)", file=folder)


class JsonlCorpus(Mapping):
    """A BEIR corpus file as a read-only mapping ``doc_id → (title, text)`` that keeps only ids in memory
    (an :class:`~lmkbench.data.ids.IdList`: about 30 bytes a document with its file offset).

    Construction reads the file once, checking every row (file:line:field errors) and collecting the ids;
    iterating ``items()`` or ``values()`` reads it again, streaming. Random access (``corpus[doc_id]``) seeks
    to the row in a plain ``.jsonl`` and scans a ``.jsonl.gz`` (use it for a few documents, not all).
    """

    def __init__(self, path: Path):
        self.path = regular_file(path, "corpus file")
        ids = IdListBuilder()
        offsets = array("q") if self.path.suffix != ".gz" else None
        self.empty = 0
        offset = 0
        for line, raw in read_lines(self.path):
            start, offset = offset, offset + len(raw.encode("utf-8"))
            if not raw.strip():
                continue
            doc_id, title, text = self._row(raw, line)
            if not (title + text).strip():
                self.empty += 1
            ids.append(doc_id)
            if offsets is not None:
                offsets.append(start)
        self.ids: IdList = ids.build()
        self._offsets = np.frombuffer(offsets, np.int64).copy() if offsets is not None else None
        if not len(self.ids):
            raise InputError("empty corpus (no documents)", file=self.path)
        dup = self.ids.first_duplicate()
        if dup is not None:
            raise InputError(f"duplicate document id {self.ids[dup]!r}", file=self.path, line=self._line_of(dup),
                             field="_id")

    def _line_of(self, row: int) -> int:
        """The line number of the ``row``-th document (blank lines are not rows)."""
        for line, raw in read_lines(self.path):
            if raw.strip():
                if row == 0:
                    return line
                row -= 1
        return 0

    def _row(self, raw: str, line: int) -> tuple[str, str, str]:
        obj = parse_row(raw, self.path, line)
        doc_id = require_id(obj, "_id", path=self.path, line=line)
        text = require_str(obj, "text", path=self.path, line=line)
        title = require_str(obj, "title", path=self.path, line=line, null_is_empty=True) if "title" in obj else ""
        return doc_id, title, text

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self):
        return iter(self.ids)

    def __contains__(self, doc_id) -> bool:
        return doc_id in self.ids

    def __getitem__(self, doc_id: str) -> tuple[str, str]:
        if doc_id not in self.ids:
            raise KeyError(doc_id)
        if self._offsets is not None:
            row = self.ids.index(doc_id)
            with open(self.path, "rb") as fh:
                fh.seek(int(self._offsets[row]))
                raw = fh.readline().decode("utf-8")
            return self._row(raw, 0)[1:]
        for d, value in self.items():
            if d == doc_id:
                return value
        raise KeyError(doc_id)

    def items(self):
        for line, raw in read_lines(self.path):
            if raw.strip():
                doc_id, title, text = self._row(raw, line)
                yield doc_id, (title, text)

    def values(self):
        return (v for _, v in self.items())


def read_corpus(path: Path) -> tuple[JsonlCorpus, int]:
    corpus = JsonlCorpus(path)
    return corpus, corpus.empty


def read_queries(path: Path) -> dict[str, str]:
    queries: dict[str, str] = {}
    for line, obj in jsonl_rows(path, "queries file"):
        qid = require_id(obj, "_id", path=path, line=line)
        if qid in queries:
            raise InputError(f"duplicate query id {qid!r}", file=path, line=line, field="_id")
        queries[qid] = require_str(obj, "text", path=path, line=line)
    return queries


def qrels_rows(path: Path):
    """``(line, query_id, doc_id, grade)`` of a qrels file (BEIR ``query-id corpus-id score`` with an optional
    header, or TREC ``qid iter docid rel``); a bad line is an :class:`InputError` naming file, line and field."""
    lines = (line for _, line in text_lines(path, "qrels file"))  # gzip / UTF-8 damage → file:line errors
    reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    for lineno, row in enumerate(reader, 1):
        if not row or not "".join(row).strip():
            continue
        if lineno == 1 and row[0].strip().lower() in ("query-id", "query_id", "qid"):
            continue
        if len(row) == 4:  # TREC qrels: qid iter docid rel
            row = [row[0], row[2], row[3]]
        if len(row) != 3:
            raise InputError(f"expected 3 tab-separated columns (query-id, corpus-id, score), got {len(row)}",
                             file=path, line=lineno)
        qid, did, score = (c.strip() for c in row)
        if not qid:
            raise InputError("empty", file=path, line=lineno, field="query-id")
        if not did:
            raise InputError("empty", file=path, line=lineno, field="corpus-id")
        try:
            value = float(score)
        except ValueError:
            raise InputError(f"not a number: {score!r}", file=path, line=lineno, field="score") from None
        if not math.isfinite(value):
            raise InputError(f"not a finite number: {score!r}", file=path, line=lineno, field="score")
        yield lineno, qid, did, int(value)


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """``{query_id: {doc_id: grade}}``. A pair judged twice with the same grade is read once; with different
    grades it is an error naming both lines (which one wins would be an accident of file order)."""
    qrels: dict[str, dict[str, int]] = {}
    for lineno, qid, did, grade in qrels_rows(path):
        judged = qrels.setdefault(qid, {})
        if judged.get(did, grade) != grade:
            first = next(n for n, q, d, _ in qrels_rows(path) if (q, d) == (qid, did))
            raise InputError(f"query {qid!r}, document {did!r} has grade {grade} here and grade {judged[did]} on "
                             f"line {first}", file=path, line=lineno, field="score")
        judged[did] = grade
    return qrels


def _check_evaluable(qrels: dict[str, dict[str, int]], path: Path) -> None:
    """A task must have a query with a relevant document: with none, every metric is 0 by construction."""
    if not qrels:
        raise InputError("no judgements (the qrels file is empty or holds only its header): nothing to evaluate",
                         file=path)
    if not any(g > 0 for docs in qrels.values() for g in docs.values()):
        raise InputError("no query has a relevant document (every grade is 0 or below): nothing to evaluate",
                         file=path)


def load_beir_folder(folder, split: str = "test", *, name: str | None = None) -> RetrievalData:
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise InputError("BEIR folder not found", file=folder)
    corpus_path, queries_path = _find(folder, "corpus"), _find(folder, "queries")
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if not qrels_path.exists():
        have = sorted(p.stem for p in (folder / "qrels").glob("*.tsv")) if (folder / "qrels").exists() else []
        raise InputError(f"no qrels for split {split!r} (available: {', '.join(have) or 'none'})", file=qrels_path)
    regular_file(qrels_path, "qrels file")
    corpus, empty = read_corpus(corpus_path)
    queries = read_queries(queries_path)
    qrels = read_qrels(qrels_path)
    _check_qrels(qrels, qrels_path, corpus, queries)
    _check_evaluable(qrels, qrels_path)
    queries = {q: t for q, t in queries.items() if q in qrels}
    checksums = {str(p.relative_to(folder)): sha256_file(p) for p in (corpus_path, queries_path, qrels_path)}
    data = RetrievalData(name=name or folder.name, split=split, corpus=corpus, queries=queries, qrels=qrels,
                         checksums=checksums, source=f"beir:{folder}")
    data.info.update(empty_docs=empty, n_docs=len(corpus), n_queries=len(queries),
                     n_qrels=sum(len(v) for v in qrels.values()),
                     queries_without_positives=len(queries) - len(data.evaluated_query_ids()))
    return data


def _check_qrels(qrels, path, corpus, queries) -> None:
    """Every judged query and document must exist; report the first offending line."""
    bad_q = {q for q in qrels if q not in queries}
    bad_d = {(q, d) for q, docs in qrels.items() for d in docs if d not in corpus}
    if not bad_q and not bad_d:
        return
    for lineno, q, d, _ in qrels_rows(path):
        if q in bad_q:
            raise InputError(f"unknown query id {q!r} (not in queries file)", file=path, line=lineno, field="query-id")
        if (q, d) in bad_d:
            raise InputError(f"unknown document id {d!r} (not in corpus)", file=path, line=lineno, field="corpus-id")
