"""Input families: how a text's content tokens become model input sequences.

A text is tokenized **once** without special tokens (its *content*); every input family builds model
sequences from that content. Poolings that read the same sequences share one family and therefore one
forward pass: ``cls``, ``mean``, ``last`` and ``mean_every`` use :class:`PlainFamily`; each ``lmk`` and
``multicls`` variant has its own.

Every family returns, per text, one or more :class:`Sequence` objects (more than one only under the
``windows`` long-text policy) with the positions of its *marks* (landmarks for ``lmk``, chunk CLS tokens for
``multicls``). Special ids are always inserted as ids, never as text, so a literal ``"[SEP]"`` in a document
stays text.

Construction follows the LMK paper's reference code (meetdoshi90/LMK-Pooling, ``landmark_index.py``):

* plain:    ``[CLS] content[:max-2] [SEP]`` (the tokenizer's own special tokens)
* lmk:      ``([CLS] c1 [SEP] c2 [SEP] … cn [SEP])[:max]``; marks = the inserted SEPs that survive
* multicls: ``([CLS] c1 [CLS] c2 … [CLS] cn)[:max-1] + [SEP]``; marks = the inserted CLSs
* an empty text becomes ``[CLS] [SEP]`` in every family (the lmk mark is that SEP).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .errors import LmkbenchError

LONG_POLICIES = ("truncate", "windows")


IDS = np.int32  #: token ids are held as int32 numpy arrays (4 bytes a token, not a Python int each)


@dataclass
class Content:
    """A text's tokens without special tokens, plus sentence spans (token index ranges) when asked for."""

    ids: np.ndarray
    sentences: list[tuple[int, int]] | None = None

    def __post_init__(self):
        self.ids = np.asarray(self.ids, dtype=IDS)


@dataclass
class Sequence:
    ids: np.ndarray
    marks: list[int] = field(default_factory=list)

    def __post_init__(self):
        self.ids = np.asarray(self.ids, dtype=IDS)


@dataclass(frozen=True)
class SpecialTokens:
    """The ids a family inserts, resolved from the tokenizer once.

    Decoder tokenizers without SEP fall back to EOS as the landmark; without CLS nothing is put in front
    (or BOS where the tokenizer has one).
    """

    cls: int | None
    sep: int
    pad: int
    plain_prefix: tuple[int, ...]
    plain_suffix: tuple[int, ...]

    @classmethod
    def from_tokenizer(cls, tok) -> "SpecialTokens":
        sep = tok.sep_token_id if tok.sep_token_id is not None else tok.eos_token_id
        if sep is None:
            raise LmkbenchError(f"tokenizer {tok.name_or_path!r} has neither a SEP nor an EOS token to use as landmark")
        front = tok.cls_token_id if tok.cls_token_id is not None else tok.bos_token_id
        pad = tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id if tok.eos_token_id is not None else 0)
        # The tokenizer's own framing for plain inputs (e.g. [CLS] x [SEP] for BERT, <s> x </s> for RoBERTa).
        probe = [-7]
        try:
            wrapped = list(tok.build_inputs_with_special_tokens(probe))
        except Exception:  # noqa: BLE001 - some tokenizers lack it; fall back to CLS…SEP
            wrapped = [x for x in (front,) if x is not None] + probe + [sep]
        if probe[0] not in wrapped:
            wrapped = [x for x in (front,) if x is not None] + probe + [sep]
        i = wrapped.index(probe[0])
        return cls(front, sep, pad, tuple(wrapped[:i]), tuple(wrapped[i + 1:]))


class Family:
    """Builds model sequences from content. ``key`` identifies the family (poolings with equal keys share)."""

    key: str = ""
    needs_sentences: bool = False
    #: every content token reaches the model whatever the max length (chunk strategies): long texts count as
    #: split, never cut
    covers_all: bool = False

    def sequence_length(self, n: int, sp: SpecialTokens) -> int | None:
        """Tokens one sequence needs to hold a text of ``n`` content tokens whole (specials and marks included);
        None where that depends on the text itself (sentence chunks) or a family never cuts (chunk strategies)."""
        return None

    def content_budget(self, max_length: int, sp: SpecialTokens) -> int | None:
        """The most content tokens a text can have and still be read whole in one sequence of ``max_length``
        tokens (a longer one is cut under ``truncate``); None where that depends on the text (sentence chunks)."""
        if self.sequence_length(0, sp) is None:
            return None
        lo, hi = 0, max_length          # sequence_length grows with n: the largest n that fits, by bisection
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.sequence_length(mid, sp) <= max_length:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def build(self, content: Content, sp: SpecialTokens, max_length: int, policy: str) -> tuple[list[Sequence], bool]:
        """Sequences for one text and whether content was cut (``truncate``) or split (``windows``)."""
        raise NotImplementedError


class PlainFamily(Family):
    key = "plain"

    def sequence_length(self, n, sp):
        return n + len(sp.plain_prefix) + len(sp.plain_suffix)

    def frame(self, chunk: np.ndarray, sp: SpecialTokens) -> Sequence:
        return Sequence(np.concatenate([np.asarray(sp.plain_prefix, IDS), chunk, np.asarray(sp.plain_suffix, IDS)]))

    def build(self, content, sp, max_length, policy):
        room = max_length - len(sp.plain_prefix) - len(sp.plain_suffix)
        if room <= 0:
            raise LmkbenchError(f"max length {max_length} leaves no room for content")
        ids = content.ids
        over = len(ids) > room
        if not len(ids):
            return [self.frame(ids, sp)], False
        if policy == "windows":
            return [self.frame(ids[i:i + room], sp) for i in range(0, len(ids), room)], over
        return [self.frame(ids[:room], sp)], over


def _fixed_chunks(ids: np.ndarray, g: int) -> list[np.ndarray]:
    return [ids[i:i + g] for i in range(0, len(ids), g)]


def _sentence_chunks(content: Content) -> list[np.ndarray]:
    spans = content.sentences or [(0, len(content.ids))]
    return [content.ids[a:b] for a, b in spans if b > a]


class ChunkedFamily(Family):
    """Shared logic of ``lmk`` and ``multicls``: chunk content, insert a mark per chunk, truncate or window."""

    def __init__(self, g: int | None = 32, split: str = "fixed"):
        if split not in ("fixed", "sentence"):
            raise LmkbenchError(f"unknown chunk split {split!r} (fixed|sentence)")
        if split == "fixed" and (g is None or g < 1):
            raise LmkbenchError(f"chunk size g must be >= 1, got {g}")
        self.g, self.split = g, split
        self.needs_sentences = split == "sentence"

    def chunks(self, content: Content) -> list[np.ndarray]:
        return _sentence_chunks(content) if self.split == "sentence" else _fixed_chunks(content.ids, self.g)

    def assemble(self, chunks: list[np.ndarray], sp: SpecialTokens, max_length: int) -> Sequence:
        raise NotImplementedError

    def full_length(self, chunks, sp) -> int:
        raise NotImplementedError

    def sequence_length(self, n, sp):
        if self.split != "fixed":
            return None
        return self.full_length([range(self.g)] * (n // self.g) + ([range(n % self.g)] if n % self.g else []), sp)

    #: where an empty text's ``[CLS] [SEP]`` carries the mark: the SEP (landmarks) or the CLS (chunk CLS tokens)
    marks_sep: bool = False

    def empty(self, sp: SpecialTokens) -> Sequence:
        front = [sp.cls] if sp.cls is not None else []
        return Sequence(front + [sp.sep], [len(front)] if self.marks_sep else ([0] if front else []))

    def build(self, content, sp, max_length, policy):
        if not len(content.ids):
            return [self.empty(sp)], False
        chunks = self.chunks(content)
        over = self.full_length(chunks, sp) > max_length
        if policy != "windows" or not over:
            return [self.assemble(chunks, sp, max_length)], over
        windows, current, size = [], [], self.full_length([], sp)
        for ch in chunks:
            # a chunk longer than a whole window (long sentence) is cut into window-sized pieces
            pieces = [ch] if self.full_length([ch], sp) <= max_length else _fixed_chunks(ch, max(1, max_length - 2))
            for piece in pieces:
                add = self.full_length([piece], sp) - self.full_length([], sp)
                if current and size + add > max_length:
                    windows.append(self.assemble(current, sp, max_length))
                    current, size = [], self.full_length([], sp)
                current.append(piece)
                size += add
        if current:
            windows.append(self.assemble(current, sp, max_length))
        return windows, True


class LandmarkFamily(ChunkedFamily):
    """``[CLS] c1 [SEP] c2 [SEP] … cn [SEP]``, right-truncated; marks at the inserted SEPs."""

    marks_sep = True

    @property
    def key(self):  # type: ignore[override]
        return f"lmk:g={self.g}" if self.split == "fixed" else "lmk:split=sentence"

    def full_length(self, chunks, sp):
        return (1 if sp.cls is not None else 0) + sum(len(c) + 1 for c in chunks)

    def assemble(self, chunks, sp, max_length):
        sizes = np.fromiter((len(c) for c in chunks), np.int64, len(chunks))
        front = 1 if sp.cls is not None else 0
        marks = front + np.cumsum(sizes + 1) - 1           # each chunk's SEP, right after it
        ids = np.empty(front + int(sizes.sum()) + len(chunks), IDS)
        if front:
            ids[0] = sp.cls
        ids[marks] = sp.sep
        starts = marks - sizes
        for ch, a in zip(chunks, starts.tolist()):
            ids[a:a + len(ch)] = ch
        return Sequence(ids[:max_length], [m for m in marks.tolist() if m < max_length])


class MultiClsFamily(ChunkedFamily):
    """``[CLS] c1 [CLS] c2 … [CLS] cn [SEP]`` (cut to max-1, then SEP); marks at every inserted CLS."""

    @property
    def key(self):  # type: ignore[override]
        return f"multicls:g={self.g}" if self.split == "fixed" else "multicls:split=sentence"

    def full_length(self, chunks, sp):
        return sum(len(c) + 1 for c in chunks) + 1

    def assemble(self, chunks, sp, max_length):
        sizes = np.fromiter((len(c) for c in chunks), np.int64, len(chunks))
        marks = np.cumsum(sizes + 1) - (sizes + 1)          # each chunk's CLS, right before it
        ids = np.empty(int(sizes.sum()) + len(chunks), IDS)
        ids[marks] = sp.cls if sp.cls is not None else sp.sep
        for ch, a in zip(chunks, marks.tolist()):
            ids[a + 1:a + 1 + len(ch)] = ch
        ids = np.concatenate([ids[:max_length - 1], np.asarray([sp.sep], IDS)])
        return Sequence(ids, [m for m in marks.tolist() if m < max_length - 1])


#: the framing of most encoders' tokenizers (BERT, RoBERTa, MiniLM, …): one token before the content (CLS / BOS),
#: one after (SEP / EOS); what a length is derived from before any tokenizer is loaded (:func:`whole_length`)
USUAL_SPECIALS = SpecialTokens(cls=0, sep=0, pad=0, plain_prefix=(0,), plain_suffix=(0,))


def whole_length(n: int, families: list[Family], sp: SpecialTokens = USUAL_SPECIALS) -> int:
    """The max length at which a text of ``n`` content tokens is read whole by every family: the content plus
    the largest overhead (specials, landmarks, chunk CLS tokens) among ``families``. Families whose length
    depends on the text (sentence chunks) are left out."""
    lengths = [f.sequence_length(n, sp) for f in families]
    return max([x for x in lengths if x is not None] or [n])


_SENTENCE_END = re.compile(r"(?<=[.!?。！？])[\"')\]]*\s+|\n\s*\n+")


def sentence_char_spans(text: str) -> list[tuple[int, int]]:
    """Sentence boundaries as character spans: split after ., !, ? (plus closing quotes) and at blank lines.

    A light rule-based splitter (the paper uses the ``sentence-splitter`` package); good enough for the
    sentence-chunk variant, and deterministic with no extra dependency.
    """
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if m.start() > start:
            spans.append((start, m.start()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans or [(0, len(text))]


def token_sentence_spans(text: str, offsets: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Map character sentence spans onto token index spans using a fast tokenizer's offsets."""
    char_spans = sentence_char_spans(text)
    spans: list[tuple[int, int]] = []
    si, start = 0, 0
    for ti, (a, _b) in enumerate(offsets):
        while si + 1 < len(char_spans) and a >= char_spans[si + 1][0]:
            if ti > start:
                spans.append((start, ti))
            start = ti
            si += 1
    if len(offsets) > start:
        spans.append((start, len(offsets)))
    return spans
