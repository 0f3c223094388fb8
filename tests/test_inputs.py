"""LMK input construction, token by token, against the algorithm of arXiv 2601.21525 and its code."""
from __future__ import annotations

import pytest

from lmkbench.inputs import (Content, LandmarkFamily, MultiClsFamily, PlainFamily, SpecialTokens,
                             sentence_char_spans)

CLS, SEP, PAD = 101, 102, 0
SP = SpecialTokens(cls=CLS, sep=SEP, pad=PAD, plain_prefix=(CLS,), plain_suffix=(SEP,))
TEN = list(range(1, 11))


def test_lmk_chunks_every_g_tokens_with_sep_after_each_and_cls_in_front():
    (seq,), cut = LandmarkFamily(g=3).build(Content(TEN), SP, 64, "truncate")
    assert seq.ids.tolist() == [CLS, 1, 2, 3, SEP, 4, 5, 6, SEP, 7, 8, 9, SEP, 10, SEP]
    assert seq.marks == [4, 8, 12, 14]
    assert all(seq.ids[m] == SEP for m in seq.marks)
    assert not cut


def test_lmk_exact_multiple_of_g_has_no_empty_chunk():
    (seq,), _ = LandmarkFamily(g=5).build(Content(TEN), SP, 64, "truncate")
    assert seq.ids.tolist() == [CLS, 1, 2, 3, 4, 5, SEP, 6, 7, 8, 9, 10, SEP]
    assert seq.marks == [6, 12]


def test_lmk_right_truncation_keeps_only_surviving_landmarks():
    # full: [CLS 1 2 3 SEP 4 5 6 SEP 7 8 9 SEP 10 SEP] (15); cut to 10 → ends inside the third chunk
    (seq,), cut = LandmarkFamily(g=3).build(Content(TEN), SP, 10, "truncate")
    assert seq.ids.tolist() == [CLS, 1, 2, 3, SEP, 4, 5, 6, SEP, 7]
    assert seq.marks == [4, 8]
    assert cut


def test_lmk_truncation_before_first_landmark_leaves_none():
    (seq,), cut = LandmarkFamily(g=8).build(Content(TEN), SP, 5, "truncate")
    assert seq.ids.tolist() == [CLS, 1, 2, 3, 4]
    assert seq.marks == []  # the encoder falls back to the masked mean
    assert cut


def test_lmk_full_length_exactly_max_is_not_truncated():
    (seq,), cut = LandmarkFamily(g=5).build(Content(TEN), SP, 13, "truncate")
    assert len(seq.ids) == 13 and seq.marks == [6, 12] and not cut


def test_empty_text_is_cls_sep_in_every_family():
    for fam in (PlainFamily(), LandmarkFamily(g=4), MultiClsFamily(g=4)):
        (seq,), cut = fam.build(Content([]), SP, 16, "truncate")
        assert seq.ids.tolist() == [CLS, SEP] and not cut
    (lmk,), _ = LandmarkFamily(g=4).build(Content([]), SP, 16, "truncate")
    assert lmk.marks == [1]


def test_multicls_puts_cls_before_every_chunk_and_sep_at_end():
    (seq,), _ = MultiClsFamily(g=4).build(Content(TEN), SP, 64, "truncate")
    assert seq.ids.tolist() == [CLS, 1, 2, 3, 4, CLS, 5, 6, 7, 8, CLS, 9, 10, SEP]
    assert seq.marks == [0, 5, 10]
    (cut_seq,), cut = MultiClsFamily(g=4).build(Content(TEN), SP, 8, "truncate")
    assert cut_seq.ids.tolist() == [CLS, 1, 2, 3, 4, CLS, 5, SEP] and cut_seq.marks == [0, 5] and cut


def test_plain_family_is_the_tokenizers_framing_truncated():
    (seq,), cut = PlainFamily().build(Content(TEN), SP, 6, "truncate")
    assert seq.ids.tolist() == [CLS, 1, 2, 3, 4, SEP] and cut


def test_windows_cover_every_token_once():
    seqs, cut = PlainFamily().build(Content(TEN), SP, 6, "windows")
    assert cut and [s.ids.tolist() for s in seqs] == [[CLS, 1, 2, 3, 4, SEP], [CLS, 5, 6, 7, 8, SEP], [CLS, 9, 10, SEP]]
    lw, _ = LandmarkFamily(g=3).build(Content(TEN), SP, 9, "windows")
    assert [s.ids.tolist() for s in lw] == [[CLS, 1, 2, 3, SEP, 4, 5, 6, SEP], [CLS, 7, 8, 9, SEP, 10, SEP]]
    assert [s.marks for s in lw] == [[4, 8], [4, 6]]
    content_back = [t for s in lw for t in s.ids.tolist() if t not in (CLS, SEP)]
    assert content_back == TEN


def test_sentence_chunks_put_a_landmark_after_each_sentence():
    fam = LandmarkFamily(g=None, split="sentence")
    (seq,), _ = fam.build(Content([1, 2, 3, 4, 5], sentences=[(0, 2), (2, 5)]), SP, 64, "truncate")
    assert seq.ids.tolist() == [CLS, 1, 2, SEP, 3, 4, 5, SEP] and seq.marks == [3, 7]


def test_sentence_splitter():
    text = "First one. Second? Third!\n\nFourth without end"
    spans = [text[a:b] for a, b in sentence_char_spans(text)]
    assert spans == ["First one.", "Second?", "Third!", "Fourth without end"]


def test_bad_g_is_rejected():
    from lmkbench.errors import LmkbenchError

    with pytest.raises(LmkbenchError):
        LandmarkFamily(g=0)


def test_real_tokenizer_keeps_literal_sep_as_text(minilm_tokenizer):
    from lmkbench.encoder import PooledEncoder  # noqa: F401  (import check)
    from lmkbench.inputs import SpecialTokens as ST

    sp = ST.from_tokenizer(minilm_tokenizer)
    assert (sp.cls, sp.sep, sp.pad) == (101, 102, 0)
    assert sp.plain_prefix == (101,) and sp.plain_suffix == (102,)
    ids = minilm_tokenizer("a [SEP] b [CLS]", add_special_tokens=False, split_special_tokens=True)["input_ids"]
    assert 102 not in ids and 101 not in ids
    (seq,), _ = LandmarkFamily(g=2).build(Content(ids), sp, 64, "truncate")
    assert [seq.ids[m] for m in seq.marks] == [102] * len(seq.marks)
    assert sum(1 for t in seq.ids.tolist() if t == 102) == len(seq.marks)  # every SEP in the input is an inserted landmark
