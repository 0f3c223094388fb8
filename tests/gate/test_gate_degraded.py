"""End to end on a tiny model: the gate stays green on a re-run and trips on a deliberately degraded encoder."""
from __future__ import annotations

from lmkbench.cli import main
from lmkbench.encoder import PooledEncoder
from lmkbench.runner import Runner, RunSettings


class FirstWordsEncoder(PooledEncoder):
    """A broken encoder: sees only the first quarter of every text (as if truncation were cut too short)."""

    def encode_set(self, texts, poolings, **kw):
        cut = [" ".join(t.split()[: max(1, len(t.split()) // 4)]) for t in texts]
        return super().encode_set(cut, poolings, **kw)


def _run(model, beir, out, capsys):
    rc = main(["run", "--model", model, "--pooling", "mean", "--task", f"beir:{beir}", "--out", str(out),
               "--no-cache", "--quiet", "--max-length", "64", "--device", "cpu"])
    capsys.readouterr()
    return rc


def test_gate_is_green_on_a_rerun_and_trips_on_a_degraded_encoder(tiny_bert, tiny_beir, tmp_path, capsys):
    assert _run(tiny_bert, tiny_beir, tmp_path / "base", capsys) == 0
    baseline = tmp_path / "baseline.json"
    assert main(["baseline", str(tmp_path / "base"), "-o", str(baseline)]) == 0

    # the same encoder again, from scratch: identical per-query scores, green
    assert _run(tiny_bert, tiny_beir, tmp_path / "again", capsys) == 0
    assert main(["check", str(tmp_path / "again"), "--baseline", str(baseline)]) == 0
    out = capsys.readouterr().out
    assert "same" in out and "gate: PASS" in out

    # a degraded encoder: red under every test
    out_dir = tmp_path / "degraded"
    enc = FirstWordsEncoder(tiny_bert, device="cpu", cache_dir=False, progress=False, max_length=64)
    settings = RunSettings(model=tiny_bert, poolings=["mean"], out_dir=out_dir, max_length=64, cache_dir=False,
                           progress=False, device="cpu")
    Runner(settings, encoder=enc, log=lambda *a: None).run([f"beir:{tiny_beir}"])
    for test in ("ttest", "wilcoxon", "randomization"):
        assert main(["check", str(out_dir), "--baseline", str(baseline), "--test", test]) == 1, test
        out = capsys.readouterr().out
        assert "REGRESSION" in out and "gate: FAIL" in out
    # a lenient gate (the drop is smaller than --min-delta) lets the same results through
    assert main(["check", str(out_dir), "--baseline", str(baseline), "--min-delta", "0.9"]) == 0
