"""Token-exact long documents: a haystack cut to N tokens of a given tokenizer with one sentence inserted.

Synthetic long-context tasks are only meaningful per length if "a 4,096-token document" means 4,096 tokens
*of the model being evaluated*. LongEmbed approximated this with a word budget (0.75 words per token); here
the haystack is tokenized once with character offsets, a document is cut at a token index and the inserted
sentence goes in at a sentence boundary, so each document's length is known without re-tokenizing it:

    tokens(doc) = n_hay + delta,   delta = tokens(window with the sentence) - tokens(same window without it)

where the window is a few words of haystack around the insertion point; both windows start and end at the
same characters, so the tokenizer's edge effects cancel. A cut inside a word at token ``n_hay`` re-tokenizes
to the same tokens for WordPiece and BPE (their tokenization of a word prefix that ends on a token boundary
is that prefix's tokens). So lengths are exact for tokenizers whose pre-tokenizer splits on whitespace
(WordPiece/BERT, byte-level BPE, SentencePiece with Metaspace); the tests re-tokenize every document of
several pools to confirm it, and the builders re-tokenize a sample of documents per pool
(:func:`check_lengths`).

Haystack texts: :func:`filler_text` (LongEmbed's passkey filler), :func:`bbc_haystack` (the 2,225 BBC
articles in a seeded order, always available offline) and :func:`paul_graham_haystack` (the essays LongEmbed
used, from ``../shared/data/paul_graham_essays/essays.jsonl``).
"""
from __future__ import annotations

import os
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import LmkbenchError
from ..io import sha256_file
from .files import jsonl_rows

FILLER = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
_SENTENCE_END = re.compile(r"[.!?][\"')\]]?$")
_WINDOW_WORDS = 6


@dataclass
class TokenizedText:
    """A text with per-token character spans and the token indices where words and sentences start."""

    text: str
    starts: np.ndarray           # char start of each token
    ends: np.ndarray             # char end of each token
    word_starts: np.ndarray      # sorted token indices preceded by whitespace (plus 0)
    sentence_starts: np.ndarray  # sorted word starts that follow a sentence end or a line break (plus 0)

    def __len__(self) -> int:
        return len(self.starts)

    def span(self, a: int, b: int) -> str:
        """Text of tokens ``[a, b)`` (empty when ``a >= b``)."""
        return self.text[self.starts[a]:self.ends[b - 1]] if a < b else ""

    def word_start_at_or_before(self, i: int) -> int:
        j = np.searchsorted(self.word_starts, i, side="right") - 1
        return int(self.word_starts[max(j, 0)])

    def word_start_at_or_after(self, i: int, limit: int) -> int:
        j = np.searchsorted(self.word_starts, i, side="left")
        return int(min(self.word_starts[j], limit)) if j < len(self.word_starts) else limit


def tokenize_text(tokenizer, text: str) -> TokenizedText:
    """Tokenize once (no special tokens) keeping character offsets; needs a fast (Rust) tokenizer.

    Byte-level BPE tokenizers may report a token's span *including* its leading space ("Ġword"); spans are
    moved past leading whitespace, so a word start is a token whose first non-space character follows
    whitespace, whichever way the tokenizer reports offsets. Whitespace-only tokens never start a word.
    """
    if not getattr(tokenizer, "is_fast", False):
        raise LmkbenchError(f"synthetic tasks need a fast tokenizer (offset mapping); "
                            f"{type(tokenizer).__name__} is not one")
    text = text.strip()
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, truncation=False, verbose=False)
    offsets = np.asarray(enc["offset_mapping"], dtype=np.int64).reshape(-1, 2)
    starts, ends = offsets[:, 0].copy(), offsets[:, 1]
    word, sent = [0], [0]
    for i in range(len(starts)):
        s, e = int(starts[i]), int(ends[i])
        while s < e and text[s].isspace():
            s += 1
        starts[i] = s
        if i == 0 or s >= e or not text[s - 1].isspace():
            continue
        word.append(i)
        before = text[max(s - 24, 0):s]
        if _SENTENCE_END.search(before.rstrip()) or "\n" in before[len(before.rstrip()):]:
            sent.append(i)
    return TokenizedText(text, starts, ends, np.asarray(word, dtype=np.int64), np.asarray(sent, dtype=np.int64))


def count_tokens(tokenizer, texts: Sequence[str]) -> list[int]:
    """Content tokens (no special tokens, no truncation) of each text, in one batch call."""
    if not texts:
        return []
    enc = tokenizer(list(texts), add_special_tokens=False, truncation=False, verbose=False)
    return [len(ids) for ids in enc["input_ids"]]


@dataclass
class Placement:
    """Where one sentence goes: haystack tokens ``[0, n_hay)`` with the sentence before token ``at``."""

    n_hay: int
    at: int
    insert: str

    def text(self, hay: TokenizedText) -> str:
        return assemble(hay, 0, self.at, self.n_hay, self.insert)

    def depth(self) -> float:
        """Share of the document's haystack tokens that come before the inserted sentence (0..1)."""
        return self.at / self.n_hay if self.n_hay else 0.0


def assemble(hay: TokenizedText, left: int, at: int, right: int, insert: str) -> str:
    """Haystack tokens ``[left, right)`` with ``insert`` before token ``at``.

    The haystack's own whitespace before ``at`` is kept in front of the sentence (a needle placed at a
    paragraph break starts the paragraph) and one space follows it.
    """
    before, after = hay.span(left, at), hay.span(at, right)
    if not before:
        return f"{insert} {after}" if after else insert
    gap = hay.text[hay.ends[at - 1]:hay.starts[at]] if at < len(hay) else " "
    if not after:
        return f"{before}{gap or ' '}{insert}"
    return f"{before}{gap}{insert} {after}"


def nearest_sentence_start(hay: TokenizedText, position: float, n_hay: int) -> int:
    """The sentence boundary in ``[0, n_hay]`` closest to token ``position`` (the end counts as one)."""
    cands = hay.sentence_starts[hay.sentence_starts < n_hay]
    cands = np.append(cands, n_hay)
    return int(cands[np.argmin(np.abs(cands - position))])


def place(tokenizer, hay: TokenizedText, target: int, inserts: Sequence[str], depths: Sequence[float]):
    """Cut the haystack and insert ``inserts[i]`` near relative depth ``depths[i]`` so each doc has ``target``.

    Returns ``(placements, lengths)`` with the content-token count of every document. The insertion cost
    ``delta`` is measured in context (see module docstring) and fixes ``n_hay = target - delta``; a sentence
    placed at the end stays at the end, and a boundary beyond the new end is chosen again.
    """
    ins_tokens = count_tokens(tokenizer, list(inserts))
    placements = []
    for text, n_ins, d in zip(inserts, ins_tokens, depths):
        n_hay = target - n_ins
        if n_hay < 1:
            raise LmkbenchError(f"target length {target} is too short for the inserted sentence "
                                f"({n_ins} tokens): {text!r}")
        if n_hay > len(hay):
            raise LmkbenchError(f"haystack has {len(hay)} tokens, {n_hay} needed for length {target}")
        placements.append(Placement(n_hay, nearest_sentence_start(hay, d * n_hay, n_hay), text))
    for attempt in range(6):
        deltas = _insertion_costs(tokenizer, hay, placements)
        lengths = [p.n_hay + dl for p, dl in zip(placements, deltas)]
        if attempt == 5 or all(n == target for n in lengths):
            break
        for p, n in zip(placements, lengths):
            at_end = p.at == p.n_hay            # the end of the document is a boundary; stay there
            p.n_hay += target - n
            if at_end or p.at > p.n_hay:
                p.at = p.n_hay if at_end else nearest_sentence_start(hay, p.at, p.n_hay)
    return placements, lengths


def _insertion_costs(tokenizer, hay: TokenizedText, placements: Sequence[Placement]) -> list[int]:
    with_insert, without = [], []
    for p in placements:
        left = hay.word_start_at_or_before(max(p.at - _WINDOW_WORDS, 0)) if p.at > 0 else 0
        right = hay.word_start_at_or_after(min(p.at + _WINDOW_WORDS, p.n_hay), p.n_hay) if p.at < p.n_hay else p.n_hay
        with_insert.append(assemble(hay, left, p.at, right, p.insert))
        without.append(hay.span(left, right))
    counts = count_tokens(tokenizer, with_insert + without)
    n = len(placements)
    return [counts[i] - counts[n + i] for i in range(n)]


def check_lengths(tokenizer, texts: Sequence[str], expected: Sequence[int], *, tolerance: float = 0.0) -> list[int]:
    """Re-tokenize whole documents; raise when a length is off by more than ``tolerance`` (a fraction)."""
    measured = count_tokens(tokenizer, texts)
    for i, (m, e) in enumerate(zip(measured, expected)):
        if abs(m - e) > tolerance * e:
            raise LmkbenchError(f"document {i} has {m} tokens, expected {e} (tokenizer "
                                f"{getattr(tokenizer, 'name_or_path', type(tokenizer).__name__)})")
    return measured


# --- haystack texts -------------------------------------------------------------------------------------

def filler_text(min_chars: int) -> str:
    """LongEmbed's passkey filler repeated until it has at least ``min_chars`` characters."""
    return " ".join([FILLER] * (min_chars // (len(FILLER) + 1) + 1))


def bbc_haystack(seed: int, *, root=None) -> tuple[str, dict[str, str], str]:
    """All BBC articles (headline, blank line, body) in a seeded order, joined by blank lines."""
    from .bbc import CHECKSUM_KEY, SOURCE, read_bbc

    corpus = read_bbc(root)
    order = list(range(len(corpus.articles)))
    random.Random(f"bbc-haystack:{seed}").shuffle(order)
    text = "\n\n".join(corpus.articles[i].text for i in order)
    return text, {CHECKSUM_KEY: corpus.sha256}, SOURCE


def default_shared_data() -> Path:
    """``$LMKBENCH_SHARED_DATA`` if set, else ``<repo>/../shared/data`` (where CI puts the real datasets)."""
    env = os.environ.get("LMKBENCH_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def paul_graham_haystack(seed: int, *, path=None) -> tuple[str, dict[str, str], str]:
    """The Paul Graham essays (``essays.jsonl``: ``_id``, ``text``) in a seeded order, joined by blank lines."""
    path = Path(path) if path is not None else default_shared_data() / "paul_graham_essays" / "essays.jsonl"
    if not path.exists():
        raise LmkbenchError(f"Paul Graham essays not found at {path} (set LMKBENCH_SHARED_DATA or pass "
                            f"the path; haystack='bbc' needs no files)")
    essays = sorted((str(row.get("_id", line)), row["text"]) for line, row in jsonl_rows(path, "essays file")
                    if isinstance(row.get("text"), str) and row["text"].strip())
    random.Random(f"pg-haystack:{seed}").shuffle(essays)
    text = "\n\n".join(t.strip() for _, t in essays)
    return text, {str(path): sha256_file(path)}, f"Paul Graham essays ({path.name}, {len(essays)} essays)"
