"""Issue 28, late refusals: what the command line, the base's config.json and the specs decide is refused before
the first training step of `train-matched` (exit 2, no arm trained), not after every arm has trained."""
from __future__ import annotations

import pytest

from lmkbench.cli import main

FAST = ["--steps", "1", "--batch-size", "2", "--query-max-length", "16", "--doc-max-length", "32", "--quiet"]


@pytest.mark.parametrize("extra,says", [
    (["--positions", "ntk:2"], "is for rope position models"),         # tiny_bert has learned absolute positions
    (["--eval-max-length", "256"], "exceeds the model's limit of 128"),  # tiny_bert has 128
    (["--positions", "ntk:abc"], "bad value for 'factor'"),
    (["--baseline", "lmk"], "is not an arm's pooling"),
    (["--doc-max-length", "512"], "--doc-max-length 512 exceeds"),
], ids=["rope-method-on-bert", "eval-length", "bad-factor", "baseline", "train-length"])
def test_refused_before_any_arm_trains(tiny_bert, tiny_beir, tmp_path, extra, says, capsys):
    out = tmp_path / "exp"
    rc = main(["train-matched", "--model", tiny_bert, "--poolings", "cls,mean", "--data", f"beir:{tiny_beir}#test",
               "--out", str(out), *FAST, "--eval-task", f"beir:{tiny_beir}", "--no-cache", "--allow-overlap", *extra])
    err = capsys.readouterr().err
    assert rc == 2 and says in err and "Traceback" not in err, err
    assert not (out / "models").exists()


def test_the_checks_read_the_config_only(tiny_modernbert, tiny_bert):
    """The same refusals from config.json alone, for both kinds of position table."""
    from lmkbench.errors import LmkbenchError
    from lmkbench.positions import check_against_config

    check_against_config("ntk:4", tiny_modernbert, 512)          # rope: reaches 128 × 4
    check_against_config("pi", tiny_bert, 512)
    with pytest.raises(LmkbenchError, match="reaches"):
        check_against_config("ntk:2", tiny_modernbert, 512)
    with pytest.raises(LmkbenchError, match="is for absolute position models"):
        check_against_config("gp", tiny_modernbert, 512)
