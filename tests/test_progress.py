"""The encoding bar moves within a shard (a shard of long texts takes minutes), in whole texts, and ends at the
number of texts, once per text set."""
from __future__ import annotations

import lmkbench.encoder as encoder_mod
from lmkbench.encoder import PooledEncoder


class RecordingBar:
    def __init__(self, total, desc, enabled):
        self.total, self.n, self.seen = total, 0, []

    def update(self, k=1):
        assert k >= 0 and k == int(k), k      # whole texts, never backwards
        self.n += k
        self.seen.append(self.n)

    def set_postfix_str(self, *a, **k):
        pass

    def close(self):
        pass


def test_bar_advances_within_one_shard(tiny_bert, monkeypatch):
    bars = []
    monkeypatch.setattr(encoder_mod, "_progress", lambda **kw: bars.append(RecordingBar(**kw)) or bars[-1])
    texts = [f"text {i} " + "word " * (5 + i) for i in range(24)]
    enc = PooledEncoder(tiny_bert, cache_dir=False, progress=True, max_length=64, token_budget=64,
                        shard_texts=1000)                     # one shard, many small batches, two families
    enc.encode(texts, ["mean", "lmk"])
    (bar,) = bars
    assert bar.n == bar.total == len(texts)
    inside = [n for n in bar.seen if 0 < n < len(texts)]
    assert len(set(inside)) >= 4, bar.seen                    # moved several times before the shard ended
    assert bar.seen == sorted(bar.seen)
