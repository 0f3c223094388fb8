"""bf16 asked for on a CPU without AMX: one warning line per process, on stderr (so also under --quiet), naming
the CPU and the committed figures where bf16 was measured slower than fp32, with their file."""
from __future__ import annotations

import pytest

import lmkbench.devices as devices_mod
from lmkbench.devices import cpu_bf16_check, resolve_dtype

SLOW = ("results/benchmarks/x.json", "Some Xeon", "run.encode.bf16_vs_fp32", 0.66)
FAST = ("results/benchmarks/y.json", "Some EPYC", "bf16.encode.vs_fp32", 2.2)


@pytest.fixture()
def cpu(monkeypatch):
    monkeypatch.setattr(devices_mod, "cpu_supports_bf16", lambda: True)
    monkeypatch.setattr(devices_mod, "_told", [])

    def set_check(**check):
        monkeypatch.setattr(devices_mod, "cpu_bf16_check", lambda: {"cpu": "Test CPU", **check})
    return set_check


def test_without_amx_bf16_warns_once_with_the_slower_figures(cpu, capsys):
    cpu(amx=False, measured=[SLOW, FAST])
    assert resolve_dtype("bf16", "cpu") == "bf16"
    resolve_dtype("bf16", "cpu")                          # a second encoder in the same process: said once
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("warning: --dtype bf16")
    assert "Test CPU" in err[0] and "0.66x" in err[0] and "x.json" in err[0] and "Some Xeon" in err[0]
    assert "2.20x" not in err[0]                          # a figure where bf16 was faster is no reason to warn


@pytest.mark.parametrize("dtype,amx", [("bf16", True), ("fp32", False), ("auto", False)])
def test_no_warning_with_amx_or_without_bf16(cpu, capsys, dtype, amx):
    cpu(amx=amx, measured=[SLOW])
    resolve_dtype(dtype, "cpu")
    assert capsys.readouterr().err == ""


def test_the_committed_figures_without_amx_are_found():
    check = cpu_bf16_check()
    assert isinstance(check["amx"], bool) and check["cpu"]
    slower = {file for file, _, _, ratio in check["measured"] if ratio < 1}
    assert "results/benchmarks/cpu-bf16-no-amx.json" in slower
