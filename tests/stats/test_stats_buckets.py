import math

import pytest

from lmkbench.errors import LmkbenchError
from lmkbench.stats import buckets as bk
from lmkbench.stats import compare


def test_parse_edges_strings_and_k_suffix():
    assert bk.parse_edges("0,512,1k,2k,inf") == (0, 512, 1024, 2048, math.inf)
    assert bk.parse_edges(" 0 , 1.5k , INF ") == (0, 1536, math.inf)
    assert bk.parse_edges(None) == bk.DEFAULT_EDGES
    assert bk.DEFAULT_EDGES == (0, 512, 1024, 2048, 4096, 8192, 16384, 32768, math.inf)
    assert bk.parse_edges([0, 100, 200]) == (0, 100, 200)


@pytest.mark.parametrize("bad", ["512", "0,2k,1k", "0,0,5", "-1,5", "0,abc", "", "0,1m"])
def test_parse_edges_rejects(bad):
    with pytest.raises(LmkbenchError):
        bk.parse_edges(bad)


def test_labels():
    labels = [b.label for b in bk.length_buckets()]
    assert labels == ["0-512", "512-1k", "1k-2k", "2k-4k", "4k-8k", "8k-16k", "16k-32k", "32k+"]
    assert [b.label for b in bk.depth_buckets()] == ["depth 0-0.2", "depth 0.2-0.4", "depth 0.4-0.6",
                                                     "depth 0.6-0.8", "depth 0.8-1"]


def test_half_open_intervals_and_closed_last_depth_bin():
    items = {"a": {"length": 511}, "b": {"length": 512}, "c": {"length": 1023}, "d": {"length": 1024},
             "e": {"length": 40000}, "f": {}, "g": {"length": None}}
    got = {b.label: ids for b, ids in bk.assign(items, bk.grid()).items()}
    assert got["all"] == list(items)
    assert got["0-512"] == ["a"] and got["512-1k"] == ["b", "c"] and got["1k-2k"] == ["d"]
    assert got["32k+"] == ["e"]
    assert bk.unbucketed(items, bk.DEFAULT_EDGES) == 2
    depth = {"x": {"depth": 0.0}, "y": {"depth": 0.2}, "z": {"depth": 1.0}, "w": {"depth": 0.999}}
    got = {b.label: ids for b, ids in bk.assign(depth, bk.depth_buckets()).items()}
    assert got["depth 0-0.2"] == ["x"] and got["depth 0.2-0.4"] == ["y"] and got["depth 0.8-1"] == ["z", "w"]


def test_target_length_wins_over_realised_length():
    assert bk.bucket_length({"length": 530, "target_length": 512}) == 512
    assert bk.bucket_length({"length": 530}) == 530
    assert bk.bucket_length({"length": True}) is None


def test_compare_counts_n_and_truncation_per_bucket(make_retrieval):
    lengths = [100] * 12 + [600] * 15 + [3000] * 4
    truncated = [False] * 12 + [True] * 5 + [False] * 10 + [True] * 4
    scores = [0.5] * len(lengths)
    recs = [make_retrieval("t", "m", "mean", scores, lengths, truncated),
            make_retrieval("t", "m", "cls", [0.4] * len(lengths), lengths, truncated)]
    cmp = compare(recs, baseline="mean")
    n = {r.bucket: (r.n, r.n_truncated, r.share_truncated) for r in cmp.select(pooling="cls")}
    assert n == {"all": (31, 9, 9 / 31), "0-512": (12, 0, 0.0), "512-1k": (15, 5, 5 / 15), "2k-4k": (4, 4, 1.0)}
    group = cmp.groups[0]
    assert "1k-2k" in group.empty_buckets and "2k-4k" not in group.empty_buckets
    # the 4-item bucket is shown, not tested
    small = cmp.cell("t", "m", "cls", "2k-4k")
    assert small.p is None and small.n_paired == 4 and "min_n" in small.note
    assert small.mean_diff == pytest.approx(-0.1)


def test_synthetic_items_bucket_by_target_length_and_depth(make_retrieval):
    targets = [512] * 10 + [2048] * 10
    extra = [{"target_length": t, "depth": d} for t, d in zip(targets, [0.0, 0.1, 0.25, 0.5, 0.75, 1.0] * 3 + [0.5, 0.5])]
    realised = [t + 7 for t in targets]          # realised length differs by a few tokens
    recs = [make_retrieval("needle", "m", "mean", [1.0] * 20, realised, extra=extra),
            make_retrieval("needle", "m", "lmk:g=32", [1.0] * 20, realised, extra=extra)]
    cmp = compare(recs, min_n=1)
    got = {r.bucket: r.n for r in cmp.select(pooling="lmk:g=32")}
    assert got["512-1k"] == 10 and got["2k-4k"] == 10
    assert got["depth 0-0.2"] == 6 and got["depth 0.6-0.8"] == 3 and got["depth 0.8-1"] == 3
    assert sum(v for k, v in got.items() if k.startswith("depth")) == 20
    assert cmp.cell("needle", "m", "lmk:g=32", "depth 0-0.2").p == 1.0   # identical scores
