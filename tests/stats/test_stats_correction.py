import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from lmkbench.errors import LmkbenchError
from lmkbench.stats.correction import adjust


@pytest.mark.parametrize("method,sm", [("holm", "holm"), ("bh", "fdr_bh"), ("none", None)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_statsmodels(method, sm, seed):
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(0, 0.05, 8), rng.uniform(0, 1, 20), [0.01, 0.01, 1.0, 0.0]])
    rng.shuffle(p)
    got = adjust(list(p), method)
    expected = p if sm is None else multipletests(p, method=sm)[1]
    assert np.allclose(got, expected, rtol=0, atol=1e-12)


def test_none_entries_are_outside_the_family():
    p = [0.01, None, 0.04, None, 0.03]
    got = adjust(p, "holm")
    ref = multipletests([0.01, 0.04, 0.03], method="holm")[1]
    assert got[1] is None and got[3] is None
    assert np.allclose([got[0], got[2], got[4]], ref, atol=1e-12)
    assert adjust([None, None], "bh") == [None, None]
    assert adjust([], "holm") == []


def test_aliases_and_errors():
    assert adjust([0.01, 0.02], "fdr_bh") == adjust([0.01, 0.02], "bh")
    with pytest.raises(LmkbenchError):
        adjust([0.1], "bonferonni")
    with pytest.raises(LmkbenchError):
        adjust([1.5], "holm")
