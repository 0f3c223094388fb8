"""No training on the test: the training documents checked against every evaluation task's corpus.

A document is identified by the hash of its normalised text (Unicode NFKC, case-folded, runs of letters and
digits joined by one space: white space, punctuation and a title joined with ". " or " " do not hide a
copy). The training side keeps one 8-byte hash per document (a set of ints, streamed from the source); each
task's document sets (every text set its evaluator embeds except the queries: a retrieval corpus, a
classifier's train and eval texts, a clustering set) are streamed and looked up. Empty texts are ignored.

Exact copies only: a crop or a paragraph of an evaluation document is not caught (the source documents that
crop/ict pairs are cut from are what is hashed, so a corpus shared with an evaluation task is caught).

A pretraining text (novels, one chapter a document) is checked by passages instead
(:func:`find_passage_overlap`): every 13-word window, so an evaluation document quoted inside a chapter is caught.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

import numpy as np

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


# -- passages: a long pretraining text against every evaluation corpus ---------------------------------------------
#: words per shingle: GPT-3's contamination check used 13-grams
SHINGLE = 13


def shingle_hashes(text: str, n: int = SHINGLE) -> np.ndarray:
    """The 64-bit hashes of every ``n``-word window of the normalised text (uint64, possibly repeated)."""
    words = normalise(text).split()
    if len(words) < n:
        return np.empty(0, dtype=np.uint64)
    grams = (" ".join(words[i:i + n]).encode("utf-8") for i in range(len(words) - n + 1))
    return np.fromiter((int.from_bytes(hashlib.blake2b(g, digest_size=8).digest(), "little") for g in grams),
                       dtype=np.uint64)


def find_passage_overlap(pretrain_texts: Iterable[str], tasks, tokenizer=None, n: int = SHINGLE) -> dict:
    """Which evaluation documents share an ``n``-word passage with a pretraining text.

    The evaluation side is hashed (every ``n``-word window of every document a task embeds, queries
    excepted) and held as one sorted array; the pretraining texts are streamed past it, so memory grows with
    the evaluation corpora, not with the pretraining text. Per task: documents checked, documents with at
    least one shared passage, the first few of their ids, and the shared windows."""
    owners: list[tuple[str, str]] = []
    parts, owner_idx = [], []
    checked: dict[str, int] = {}
    for task in tasks:
        checked[task.name] = 0
        for _name, (ids, texts) in task_document_sets(task, tokenizer).items():
            for doc_id, text in zip(ids, texts):
                h = shingle_hashes(text, n)
                if not h.size:
                    continue
                checked[task.name] += 1
                parts.append(h)
                owner_idx.append(np.full(h.size, len(owners), dtype=np.int64))
                owners.append((task.name, str(doc_id)))
    keys = np.concatenate(parts) if parts else np.empty(0, dtype=np.uint64)
    who = np.concatenate(owner_idx) if owner_idx else np.empty(0, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    keys, who = keys[order], who[order]
    hit = np.zeros(keys.size, dtype=bool)
    pretrain_windows = 0
    for text in pretrain_texts:
        h = shingle_hashes(text, n)
        pretrain_windows += h.size
        if not h.size or not keys.size:
            continue
        lo = np.searchsorted(keys, h, side="left")
        hi = np.searchsorted(keys, h, side="right")
        for a, b in zip(lo[hi > lo], hi[hi > lo]):
            hit[a:b] = True
    shared_docs: dict[str, set] = {}
    windows: dict[str, int] = {}
    for i in np.flatnonzero(hit):
        task, doc = owners[who[i]]
        shared_docs.setdefault(task, set()).add(doc)
        windows[task] = windows.get(task, 0) + 1
    out = {t: {"documents_checked": checked[t], "shared": len(shared_docs.get(t, ())),
               "shared_windows": windows.get(t, 0), "shared_ids": sorted(shared_docs.get(t, ()))[:EXAMPLES]}
           for t in checked}
    return {"method": f"every {n}-word window of the normalised texts (NFKC, case-folded, words joined by one "
                      "space), 64-bit hashes; an evaluation document counts once it shares one window",
            "pretraining_windows": int(pretrain_windows), "shared": sum(r["shared"] for r in out.values()),
            "tasks": out}
