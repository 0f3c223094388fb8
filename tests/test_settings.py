"""EncoderSettings, the one list of encoder settings: CLI flags → settings → runner → encoder → result meta."""
from __future__ import annotations

import dataclasses

import pytest

from lmkbench.cli import build_parser, main
from lmkbench.commands._common import encoder_settings
from lmkbench.errors import LmkbenchError
from lmkbench.results import iter_results
from lmkbench.runner import RunSettings
from lmkbench.settings import EncoderSettings


def _args(*extra):
    return build_parser().parse_args(["run", "--model", "m", "--task", "x", *extra])


def test_gated_keys_are_the_settings_the_gate_compares():
    from lmkbench.gate import cell_of
    from lmkbench.results import ResultRecord

    assert EncoderSettings.GATED_KEYS == ("max_length", "long_policy", "positions", "dtype", "device", "token_budget")
    meta = {"max_length": 64, "long_policy": "truncate", "positions": "native", "dtype": "fp32", "device": "cpu",
            "token_budget": 512,
            "batch_cost": "tokens", "shard_texts": 8}
    rec = ResultRecord.from_json({"task": "t", "model": "m", "pooling": "mean", "main_metric": "x",
                                  "metrics": {"x": 0.5}, "meta": meta})
    assert cell_of(rec).settings == {k: meta[k] for k in EncoderSettings.GATED_KEYS}


def test_every_flag_becomes_its_setting():
    args = _args("--max-length", "64", "--long", "windows", "--dtype", "fp32", "--device", "cpu",
                 "--token-budget", "512", "--shard-size", "8", "--cache-dir", "c", "--trust-remote-code",
                 "--revision", "r1")
    assert encoder_settings(args) == EncoderSettings(max_length=64, long_policy="windows", dtype="fp32", device="cpu",
                                                     token_budget=512, shard_texts=8, cache_dir="c",
                                                     trust_remote_code=True, revision="r1")
    assert encoder_settings(_args()) == EncoderSettings()
    assert encoder_settings(_args("--no-cache")).cache_dir is False
    with pytest.raises(LmkbenchError, match="not both"):   # a conflict whatever the folder (issue 28)
        encoder_settings(_args("--no-cache", "--cache-dir", "c"))
    flags = {f.metadata["flag"] for f in dataclasses.fields(EncoderSettings)} - {None}
    assert flags == {"--max-length", "--long", "--positions", "--dtype", "--device", "--token-budget", "--shard-size",
                     "--cache-dir", "--trust-remote-code", "--revision"}


@pytest.mark.parametrize("flag,value", [("--max-length", "0"), ("--dtype", "fp64"), ("--long", "wide")])
def test_a_bad_flag_value_is_a_usage_error(flag, value, capsys):
    with pytest.raises(SystemExit) as info:
        _args(flag, value)
    assert info.value.code == 2 and flag in capsys.readouterr().err


def test_run_settings_take_encoder_settings_by_name():
    rs = RunSettings("m", max_length=32, device="cpu", encoder=EncoderSettings(dtype="fp32"))
    assert rs.encoder == EncoderSettings(max_length=32, device="cpu", dtype="fp32")
    assert RunSettings("m").encoder == EncoderSettings()
    with pytest.raises(LmkbenchError, match="unknown setting.*max_len \\(did you mean 'max_length'\\?\\)"):
        RunSettings("m", max_len=32)


def test_encoder_takes_settings_and_keyword_changes(tiny_bert):
    from lmkbench.encoder import PooledEncoder

    enc = PooledEncoder(tiny_bert, EncoderSettings(max_length=16, device="cpu"), cache_dir=False, progress=False,
                        token_budget=64)
    assert (enc.max_length, enc.token_budget, enc.device) == (16, 64, "cpu")
    assert enc.settings == EncoderSettings(max_length=16, device="cpu", cache_dir=False, token_budget=64)


def test_cli_settings_reach_the_result_meta(tiny_bert, tiny_beir, tmp_path):
    out = tmp_path / "res"
    assert main(["run", "--model", tiny_bert, "--pooling", "mean", "--task", f"beir:{tiny_beir}", "--out", str(out),
                 "--no-cache", "--quiet", "--max-length", "160", "--long", "windows", "--dtype", "fp32", "--device",
                 "cpu", "--token-budget", "256", "--shard-size", "3", "--positions", "gp"]) == 0
    (rec,) = iter_results(out)
    meta = rec.meta
    assert {k: meta.get(k) for k in EncoderSettings.GATED_KEYS} == {
        "max_length": 160, "long_policy": "windows", "positions": "gp", "dtype": "fp32", "device": "cpu",
        "token_budget": 256}
    assert meta.get("shard_texts") == 3
