import numpy as np

from lmkbench.search import top_k


def test_chunked_top_k_equals_full_sort():
    rng = np.random.default_rng(0)
    q = rng.normal(size=(37, 16)).astype(np.float32)
    c = rng.normal(size=(503, 16)).astype(np.float32)
    s, i = top_k(q, c, k=25, query_chunk=8, corpus_chunk=60)
    full = q @ c.T
    ref = np.argsort(-full, axis=1, kind="stable")[:, :25]
    assert np.array_equal(i, ref)
    assert np.allclose(s, np.take_along_axis(full, ref, 1), atol=1e-5)


def test_k_larger_than_corpus():
    s, i = top_k(np.ones((2, 3), np.float32), np.eye(3, dtype=np.float32), k=10)
    assert s.shape == (2, 3) and sorted(i[0].tolist()) == [0, 1, 2]
