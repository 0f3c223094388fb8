"""No training on the test: the training documents checked against every evaluation task's corpus.

A document is identified by the hash of its normalised text (Unicode NFKC, case-folded, runs of letters and
digits joined by one space: white space, punctuation and a title joined with ". " or " " do not hide a
copy). The training side keeps one 8-byte hash per document (a set of ints, streamed from the source); each
task's document sets (every text set its evaluator embeds except the queries: a retrieval corpus, a
classifier's train and eval texts, a clustering set) are streamed and looked up. Empty texts are ignored.

Exact copies only: a crop or a paragraph of an evaluation document is not caught (the source documents that
crop/ict pairs are cut from are what is hashed, so a corpus shared with an evaluation task is caught).
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

_WORD = re.compile(r"\w+")
EXAMPLES = 5   # document ids named per task


def normalise(text: str) -> str:
    return " ".join(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def text_hash(text: str) -> int | None:
    """The normalised text's 64-bit hash, or None for a text with no words."""
    norm = normalise(text)
    if not norm:
        return None
    return int.from_bytes(hashlib.blake2b(norm.encode("utf-8"), digest_size=8).digest(), "little")


def hash_texts(texts: Iterable[str]) -> set[int]:
    return {h for h in map(text_hash, texts) if h is not None}


def task_document_sets(task, tokenizer=None) -> dict[str, tuple[list[str], Iterable[str]]]:
    """The document text sets a task evaluates (its evaluator's text sets minus the queries)."""
    from ..evaluate import evaluator_for

    data = task.load(tokenizer=tokenizer) if task.needs_tokenizer else task.load()
    evaluator = evaluator_for(task.kind, **task.evaluator_options)
    return {name: s for name, s in evaluator.text_sets(data).items() if name not in evaluator.query_sets}


def find_overlap(train_hashes: set[int], tasks, tokenizer=None) -> dict[str, dict]:
    """Per task: documents checked, documents shared with the training data and the first few of their ids."""
    out: dict[str, dict] = {}
    for task in tasks:
        checked, shared, ids_seen = 0, 0, []
        for _name, (ids, texts) in task_document_sets(task, tokenizer).items():
            for doc_id, text in zip(ids, texts):
                h = text_hash(text)
                if h is None:
                    continue
                checked += 1
                if h in train_hashes:
                    shared += 1
                    if len(ids_seen) < EXAMPLES:
                        ids_seen.append(str(doc_id))
        out[task.name] = {"documents_checked": checked, "shared": shared, "shared_ids": ids_seen}
    return out


def describe_overlap(found: dict[str, dict]) -> str:
    """``scifact: 12 of 5183 documents (e.g. 4983, 5836)`` for every task with a shared document."""
    parts = [f"{t}: {r['shared']} of {r['documents_checked']} documents (e.g. {', '.join(r['shared_ids'])})"
             for t, r in found.items() if r["shared"]]
    return "; ".join(parts)
